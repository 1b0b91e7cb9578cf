import type { RateLimitDimension } from './rate-limit.types.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Period lengths for `N/<unit>` limits. A month is 30 days, calendar-agnostic: sliding windows need one fixed
 * length, and a fixed "month" window should not be 28 days one time and 31 the next.
 */
export const PERIOD_MS = {
  second: SECOND,
  minute: MINUTE,
  hour: HOUR,
  day: DAY,
  week: 7 * DAY,
  month: 30 * DAY,
} as const;

export type PeriodUnit = keyof typeof PERIOD_MS;

const UNITS_DESC = (Object.entries(PERIOD_MS) as Array<[PeriodUnit, number]>).sort((a, b) => b[1] - a[1]);

/** "100/hour", "5/2 minutes", "10/1500 ms". */
export function formatLimit(limit: number, periodMs: number): string {
  for (const [unit, ms] of UNITS_DESC) {
    if (periodMs === ms) return `${limit}/${unit}`;
  }
  for (const [unit, ms] of UNITS_DESC) {
    if (periodMs % ms === 0) return `${limit}/${periodMs / ms} ${unit}s`;
  }
  return `${limit}/${periodMs} ms`;
}

/** Rounded up, so "retry after" is never too early: 1 s, 66 s, 12 min, 2 h 5 min, 3 days. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0 s';
  if (ms < 2 * MINUTE) return `${Math.ceil(ms / SECOND)} s`;
  if (ms < HOUR) return `${Math.ceil(ms / MINUTE)} min`;
  if (ms < 2 * DAY) {
    const minutes = Math.ceil(ms / MINUTE);
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  return `${Math.ceil(ms / DAY)} days`;
}

export function formatPer(per: readonly RateLimitDimension[]): string {
  return per.length === 0 ? '' : ` per ${per.join('+')}`;
}

/** "rate limit 100/hour per user exceeded; retry after 12 min" (burst: "burst of 10 per 6 min per user …"). */
export function rateLimitExceededMessage(opts: {
  limit: number;
  periodMs: number;
  per: readonly RateLimitDimension[];
  retryAfterMs: number;
  burst?: { burst: number; intervalMs: number };
}): string {
  const what = opts.burst
    ? `burst limit ${opts.burst.burst} per ${formatDuration(opts.burst.intervalMs)} (of ${formatLimit(opts.limit, opts.periodMs)})`
    : `rate limit ${formatLimit(opts.limit, opts.periodMs)}`;
  return `${what}${formatPer(opts.per)} exceeded; retry after ${formatDuration(opts.retryAfterMs)}`;
}
