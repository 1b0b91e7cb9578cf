// Chargeback: prices every executed call of a period with the `costs:` model and sums per tenant, server and tool.
import type { AuditEvent } from '@atom-gov/audit';
import type { CostModel, CostRates } from '@atom-gov/config';
import { stringify } from 'csv-stringify/sync';
import { isExecuted, reportedUnitsOf } from './event-facts.js';
import { describePeriod, type ReportPeriod } from './period.js';
import { ReportError } from './report-error.js';
import { plainTable, renderPlainTable } from './plain-table.js';

export interface CostLine {
  tenant: string;
  server: string;
  tool: string;
  calls: number;
  seconds: number;
  kilobytes: number;
  units: number;
  /** Cost split by what it is charged for; `total` is their sum. */
  callCost: number;
  timeCost: number;
  dataCost: number;
  unitCost: number;
  total: number;
}

export interface TenantCost {
  tenant: string;
  total: number;
  calls: number;
  budget?: { amount: number; period: 'day' | 'week' | 'month'; used: number; status: 'ok' | 'alert' | 'over' };
}

export interface CostReport {
  currency: string;
  period: { label: string; since: string; until: string; text: string };
  filter: { server?: string; tenant?: string };
  lines: CostLine[];
  tenants: TenantCost[];
  total: number;
  calls: number;
}

export const COST_FORMATS = ['table', 'csv', 'json'] as const;
export type CostFormat = (typeof COST_FORMATS)[number];

/** Tool rates: exact name, then the first matching glob (`research.*`), then the server's, then the default. */
export function ratesFor(model: CostModel, server: string, tool: string): CostRates {
  const s = model.servers[server];
  if (!s) return model.default;
  const exact = s.tools[tool];
  if (exact) return exact;
  for (const [pattern, rates] of Object.entries(s.tools)) {
    if (pattern.includes('*') && globToRegExp(pattern).test(tool)) return rates;
  }
  return s.rates;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
}

/** Sums the events (any order, streamed); memory grows with distinct tenant/server/tool triples only. */
export async function computeCosts(
  events: AsyncIterable<AuditEvent>,
  model: CostModel,
  period: ReportPeriod,
  filter: { server?: string; tenant?: string } = {},
): Promise<CostReport> {
  const acc = new CostAccumulator(model);
  for await (const e of events) acc.add(e);
  return acc.result(period, filter);
}

/** Prices events one at a time, so one pass over the trail can feed the chargeback and other reports. */
export class CostAccumulator {
  private readonly lines = new Map<string, CostLine>();

  constructor(private readonly model: CostModel) {}

  add(e: AuditEvent): void {
    if (!isExecuted(e)) return;
    const tool = e.target ?? e.method;
    const key = `${e.tenant}\u0000${e.server}\u0000${tool}`;
    let line = this.lines.get(key);
    if (!line) {
      line = {
        tenant: e.tenant,
        server: e.server,
        tool,
        calls: 0,
        seconds: 0,
        kilobytes: 0,
        units: 0,
        callCost: 0,
        timeCost: 0,
        dataCost: 0,
        unitCost: 0,
        total: 0,
      };
      this.lines.set(key, line);
    }
    const r = ratesFor(this.model, e.server, tool);
    const seconds = e.durationMs / 1000;
    const kb = (e.requestBytes + e.responseBytes) / 1024;
    const units = reportedUnitsOf(e);
    line.calls += 1;
    line.seconds += seconds;
    line.kilobytes += kb;
    line.units += units;
    line.callCost += r.perCall;
    line.timeCost += r.perSecond * seconds;
    line.dataCost += r.perKb * kb;
    line.unitCost += r.perUnit * units;
  }

  result(period: ReportPeriod, filter: { server?: string; tenant?: string } = {}): CostReport {
    const model = this.model;
    const sorted = [...this.lines.values()]
      .map((l) => ({ ...l, total: l.callCost + l.timeCost + l.dataCost + l.unitCost }))
      .sort((a, b) => a.tenant.localeCompare(b.tenant) || b.total - a.total || a.tool.localeCompare(b.tool));
    const tenants = new Map<string, TenantCost>();
    for (const l of sorted) {
      const t = tenants.get(l.tenant) ?? { tenant: l.tenant, total: 0, calls: 0 };
      t.total += l.total;
      t.calls += l.calls;
      tenants.set(l.tenant, t);
    }
    for (const [tenant, b] of Object.entries(model.budgets)) {
      if (filter.tenant !== undefined && filter.tenant !== tenant) continue;
      const t = tenants.get(tenant) ?? { tenant, total: 0, calls: 0 };
      tenants.set(tenant, t);
      // A budget is compared only within a period of its own length: a monthly budget against a day says nothing.
      if (b.period !== period.kind) continue;
      const used = b.amount > 0 ? t.total / b.amount : t.total > 0 ? Infinity : 0;
      const status = used > 1 ? 'over' : used >= (b.alertThreshold ?? 0.8) ? 'alert' : 'ok';
      t.budget = { amount: b.amount, period: b.period, used, status };
    }
    return {
      currency: model.currency,
      period: {
        label: period.label,
        since: period.since.toISOString(),
        until: period.until.toISOString(),
        text: describePeriod(period),
      },
      filter,
      lines: sorted,
      tenants: [...tenants.values()].sort((a, b) => b.total - a.total || a.tenant.localeCompare(b.tenant)),
      total: sorted.reduce((s, l) => s + l.total, 0),
      calls: sorted.reduce((s, l) => s + l.calls, 0),
    };
  }
}

/** Amounts to 4 decimals: per-call prices are often fractions of a cent. */
export function formatMoney(amount: number, currency: string): string {
  return `${amount.toFixed(4)} ${currency}`;
}

export function renderCosts(report: CostReport, format: CostFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return stringify(
        report.lines.map((l) => [
          l.tenant,
          l.server,
          l.tool,
          l.calls,
          l.seconds.toFixed(3),
          l.kilobytes.toFixed(3),
          l.units,
          l.callCost.toFixed(6),
          l.timeCost.toFixed(6),
          l.dataCost.toFixed(6),
          l.unitCost.toFixed(6),
          l.total.toFixed(6),
          report.currency,
        ]),
        {
          header: true,
          columns: [
            'tenant',
            'server',
            'tool',
            'calls',
            'seconds',
            'kilobytes',
            'units',
            'call_cost',
            'time_cost',
            'data_cost',
            'unit_cost',
            'total',
            'currency',
          ],
          escape_formulas: true,
        },
      );
    case 'table':
      return renderTable(report);
  }
}

function renderTable(r: CostReport): string {
  const scope = [r.filter.server && `server ${r.filter.server}`, r.filter.tenant && `tenant ${r.filter.tenant}`]
    .filter(Boolean)
    .join(', ');
  const head = `Costs for ${r.period.text} (${r.period.label})${scope ? `, ${scope}` : ''}, in ${r.currency}\n\n`;
  if (r.lines.length === 0 && r.tenants.length === 0) return `${head}No executed calls in this period.\n`;
  const lines = plainTable(
    ['TENANT', 'SERVER', 'TOOL', 'CALLS', 'SECONDS', 'KB', 'UNITS', 'COST'],
    ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
  for (const l of r.lines) {
    lines.push([
      l.tenant,
      l.server,
      l.tool,
      String(l.calls),
      l.seconds.toFixed(1),
      l.kilobytes.toFixed(1),
      String(l.units),
      l.total.toFixed(4),
    ]);
  }
  const tenants = plainTable(
    ['TENANT', 'CALLS', 'COST', 'BUDGET', 'USED', 'STATUS'],
    ['left', 'right', 'right', 'right', 'right', 'left'],
  );
  for (const t of r.tenants) {
    tenants.push([
      t.tenant,
      String(t.calls),
      t.total.toFixed(4),
      t.budget ? `${t.budget.amount}/${t.budget.period}` : '-',
      t.budget ? `${(t.budget.used * 100).toFixed(1)}%` : '-',
      t.budget ? t.budget.status.toUpperCase() : '-',
    ]);
  }
  return (
    `${head}${r.lines.length > 0 ? `${renderPlainTable(lines)}\n\n` : ''}${renderPlainTable(tenants)}\n\n` +
    `Total: ${formatMoney(r.total, r.currency)} for ${r.calls} call${r.calls === 1 ? '' : 's'}\n`
  );
}

export function parseCostFormat(value: string | undefined): CostFormat {
  const format = value ?? 'table';
  if (!(COST_FORMATS as readonly string[]).includes(format)) {
    throw new ReportError(`--format '${format}' is not one of: ${COST_FORMATS.join(', ')}`);
  }
  return format as CostFormat;
}
