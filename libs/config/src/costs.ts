// The `costs:` block (cost model per server and tool, per-tenant budgets) and the `export:` block (default
// OpenPGP recipients of `atom-gov export --encrypt`): raw schemas and their normalisation.
import { z } from 'zod';
import { type ConfigIssue } from './errors.js';
import { toAbsolute } from './runtime.js';
import type { CostModel, CostRates, ExportSettings, ServerConfig } from './types.js';
import { parsePercent } from './values.js';
import { issueAt, type PathSegment, type SourceDoc, suggest } from './yaml-source.js';

const money = z.number().nonnegative();
const ratesShape = {
  per_call: money.optional().meta({ description: 'Charged once per executed call' }),
  per_second: money.optional().meta({ description: 'Charged per second of execution (the audit durationMs)' }),
  per_kb: money.optional().meta({ description: 'Charged per kilobyte (1024 bytes) of request plus response' }),
  per_unit: money.optional().meta({
    description:
      'Charged per unit the tool reports: the number under `cost_units` (or `costUnits`) in its result `_meta` (or an audit note `cost units: N`)',
  }),
};
const ratesSchema = z.strictObject(ratesShape);
const budgetSchema = z.union([
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*\/\s*(day|week|month)\s*$/, 'expected an amount per period such as 500/month')
    .meta({ description: 'Amount per period: 500/month, 20/day, 100/week' }),
  z.strictObject({
    amount: money,
    period: z.enum(['day', 'week', 'month']).optional(),
    alert_threshold: z.string().optional().meta({ description: 'Warn when spending reaches this share, e.g. 80%' }),
  }),
]);

export const costsSchema = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'expected a three-letter currency code such as USD')
      .optional(),
    default: ratesSchema.optional().meta({ description: 'Rates for servers the costs block does not list' }),
    servers: z
      .record(
        z.string(),
        z.strictObject({
          ...ratesShape,
          tools: z
            .record(z.string(), ratesSchema)
            .optional()
            .meta({ description: 'Per-tool rates (name or glob with *); a rate left out falls back to the server' }),
        }),
      )
      .optional(),
    budgets: z
      .record(z.string(), budgetSchema)
      .optional()
      .meta({ description: 'Per-tenant budgets, e.g. acme: 500/month' }),
  })
  .meta({ description: 'Cost model for `atom-gov costs` (chargeback per tenant, server and tool)' });

export const exportSchema = z
  .strictObject({
    recipients: z
      .array(z.string())
      .optional()
      .meta({ description: 'OpenPGP public key files (armored or binary) `atom-gov export --encrypt` encrypts to' }),
  })
  .meta({ description: 'Defaults of `atom-gov export`' });

export type RawCosts = z.infer<typeof costsSchema>;
export type RawExport = z.infer<typeof exportSchema>;

const ZERO: CostRates = { perCall: 0, perSecond: 0, perKb: 0, perUnit: 0 };

function rates(raw: z.infer<typeof ratesSchema> | undefined, fallback: CostRates): CostRates {
  return {
    perCall: raw?.per_call ?? fallback.perCall,
    perSecond: raw?.per_second ?? fallback.perSecond,
    perKb: raw?.per_kb ?? fallback.perKb,
    perUnit: raw?.per_unit ?? fallback.perUnit,
  };
}

export function normaliseCosts(
  raw: RawCosts | undefined,
  ctx: { src: SourceDoc; base: PathSegment[]; servers: readonly ServerConfig[]; issues: ConfigIssue[] },
): CostModel {
  const fallback = rates(raw?.default, ZERO);
  const names = ctx.servers.map((s) => s.name);
  const servers: CostModel['servers'] = {};
  for (const [name, s] of Object.entries(raw?.servers ?? {})) {
    // A warning, not an error: a removed server's past events may still need pricing.
    if (!names.includes(name)) {
      const hint = suggest(name, names);
      ctx.issues.push(
        issueAt(ctx.src, [...ctx.base, 'servers', name], `costs for '${name}', which is not a configured server`, {
          key: true,
          severity: 'warning',
          ...(hint ? { hint } : {}),
        }),
      );
    }
    const serverRates = rates(s, fallback);
    servers[name] = {
      rates: serverRates,
      tools: Object.fromEntries(Object.entries(s.tools ?? {}).map(([tool, r]) => [tool, rates(r, serverRates)])),
    };
  }
  const budgets: CostModel['budgets'] = {};
  for (const [tenant, b] of Object.entries(raw?.budgets ?? {})) {
    if (typeof b === 'string') {
      const [amount, period] = b.split('/').map((p) => p.trim());
      budgets[tenant] = { amount: Number(amount), period: period as 'day' | 'week' | 'month' };
      continue;
    }
    let alertThreshold: number | undefined;
    if (b.alert_threshold !== undefined) {
      const p = parsePercent(b.alert_threshold);
      if (p.ok) alertThreshold = p.value;
      else ctx.issues.push(issueAt(ctx.src, [...ctx.base, 'budgets', tenant, 'alert_threshold'], p.message));
    }
    budgets[tenant] = {
      amount: b.amount,
      period: b.period ?? 'month',
      ...(alertThreshold !== undefined ? { alertThreshold } : {}),
    };
  }
  return { currency: raw?.currency ?? 'USD', default: fallback, servers, budgets };
}

export function normaliseExport(raw: RawExport | undefined, home: string, baseDir: string): ExportSettings {
  return { recipients: (raw?.recipients ?? []).map((file) => toAbsolute(file, home, baseDir)) };
}
