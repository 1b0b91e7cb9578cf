import { RateLimitSpecError } from './rate-limit.errors.js';
import { PERIOD_MS } from './rate-limit.message.js';
import type { RateLimitContext, RateLimitDimension, RateLimitSpec, RateLimitWindow } from './rate-limit.types.js';

const DIMENSIONS: readonly RateLimitDimension[] = ['tenant', 'user', 'server', 'tool'];
const MAX_PERIOD_MS = 366 * 24 * 60 * 60 * 1000;

/** One counter family: the main limit or the burst limit of a spec. */
export interface CounterSpec {
  /** Key marker: "m" main, "b" burst. */
  kind: 'm' | 'b';
  window: RateLimitWindow;
  limit: number;
  periodMs: number;
}

export interface CompiledSpec {
  spec: RateLimitSpec;
  per: readonly RateLimitDimension[];
  main: CounterSpec;
  burst?: CounterSpec;
}

function fail(path: string, message: string): never {
  throw new RateLimitSpecError(path, message);
}

/** Validates a spec once (cached per spec object: config objects are frozen and long-lived). */
const compiled = new WeakMap<RateLimitSpec, CompiledSpec>();

export function compileSpec(spec: RateLimitSpec): CompiledSpec {
  const cached = compiled.get(spec);
  if (cached) return cached;
  const at = `rate_limit ${JSON.stringify(spec.name)}`;
  if (typeof spec.name !== 'string' || spec.name === '') fail('rate_limit.name', 'a policy name is required');
  if (!Number.isInteger(spec.limit) || spec.limit < 1) {
    fail(`${at}.limit`, `must be a whole number of calls >= 1 (got ${String(spec.limit)}), e.g. 100/hour`);
  }
  if (!Number.isInteger(spec.periodMs) || spec.periodMs < PERIOD_MS.second || spec.periodMs > MAX_PERIOD_MS) {
    fail(
      `${at}.periodMs`,
      `must be a whole number of ms from 1000 (second) to one year (got ${String(spec.periodMs)})`,
    );
  }
  if (spec.window !== 'sliding' && spec.window !== 'fixed') {
    fail(`${at}.window`, `must be "sliding" or "fixed" (got ${JSON.stringify(spec.window)})`);
  }
  if (!['hard', 'soft', 'warn'].includes(spec.enforcement)) {
    fail(`${at}.enforcement`, `must be "hard", "soft" or "warn" (got ${JSON.stringify(spec.enforcement)})`);
  }
  const parts: readonly string[] =
    spec.per === 'global' ? [] : typeof spec.per === 'string' ? [spec.per] : Array.isArray(spec.per) ? spec.per : [''];
  for (const part of parts) {
    if (!(DIMENSIONS as readonly string[]).includes(part)) {
      fail(
        `${at}.per`,
        `unknown key part ${JSON.stringify(part)}; use user, tenant, server, tool, a list of them, or global`,
      );
    }
  }
  // Canonical order and no duplicates, so `per: [user, tenant]` and `[tenant, user]` share one counter.
  const per = DIMENSIONS.filter((d) => parts.includes(d));
  const main: CounterSpec = { kind: 'm', window: spec.window, limit: spec.limit, periodMs: spec.periodMs };
  let burst: CounterSpec | undefined;
  if (spec.burst !== undefined && spec.burst !== 0) {
    if (!Number.isInteger(spec.burst) || spec.burst < 1 || spec.burst > spec.limit) {
      fail(
        `${at}.burst`,
        `must be a whole number from 1 to the limit ${spec.limit} (got ${String(spec.burst)}): ` +
          `it caps calls in any interval of period * burst / limit`,
      );
    }
    // burst === limit would repeat the main limit: no second counter.
    if (spec.burst < spec.limit) {
      burst = {
        kind: 'b',
        window: spec.window,
        limit: spec.burst,
        periodMs: Math.max(1, Math.round((spec.periodMs * spec.burst) / spec.limit)),
      };
    }
  }
  const result: CompiledSpec = burst ? { spec, per, main, burst } : { spec, per, main };
  compiled.set(spec, result);
  return result;
}

/** Escapes one key component: ':' ',' '=' '~' and '%' are percent-encoded, so components never collide. */
function escapePart(value: string): string {
  return encodeURIComponent(value).replace(/~/g, '%7E');
}

/**
 * Stable counter key: `<prefix>:<policy>:<dim>=<value>,…` ('*' when the limit is global). The window kind,
 * width and index are appended per counter by the service.
 */
export function counterKey(prefix: string, compiledSpec: CompiledSpec, ctx: RateLimitContext): string {
  const parts = compiledSpec.per.map((dim) => {
    const value = ctx[dim];
    // An absent tool is "~", which no escaped value contains.
    return `${dim}=${value === undefined ? '~' : escapePart(value)}`;
  });
  return `${prefix}:${escapePart(compiledSpec.spec.name)}:${parts.length === 0 ? '*' : parts.join(',')}`;
}

/** Throws RateLimitSpecError naming the field when the spec cannot be enforced (call at config load time). */
export function validateRateLimitSpec(spec: RateLimitSpec): void {
  compileSpec(spec);
}
