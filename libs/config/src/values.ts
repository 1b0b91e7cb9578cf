// Parsers for the value syntaxes the YAML uses: rates (`100/hour`), durations (`1h30m`),
// percentages (`80%`) and named levels. Each returns a result or a message saying what was expected.
import type { LevelTable, Period, QuotaAmount, Rate } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A month is counted as 30 days for windows; calendar-aligned resets are the limiter's choice. */
export const PERIOD_MS: Record<Period, number> = {
  second: SECOND,
  minute: MINUTE,
  hour: HOUR,
  day: DAY,
  week: 7 * DAY,
  month: 30 * DAY,
};

const PERIOD_ALIASES: Record<string, Period> = {
  s: 'second',
  sec: 'second',
  second: 'second',
  seconds: 'second',
  min: 'minute',
  minute: 'minute',
  minutes: 'minute',
  h: 'hour',
  hr: 'hour',
  hour: 'hour',
  hours: 'hour',
  d: 'day',
  day: 'day',
  days: 'day',
  w: 'week',
  week: 'week',
  weeks: 'week',
  mo: 'month',
  month: 'month',
  months: 'month',
};

export const PERIOD_NAMES = Object.keys(PERIOD_MS) as Period[];

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** `100/hour`, `5/second`, `10000/month` (also `100/h`, `100 per hour`). */
export function parseRate(input: unknown): Parsed<Rate> {
  if (typeof input !== 'string') return fail(`expected a rate like 100/hour, got ${describe(input)}`);
  const m = /^\s*(\d+)\s*(?:\/|\bper\b)\s*([A-Za-z]+)\s*$/.exec(input);
  if (!m) return fail(`invalid rate '${input}': expected <count>/<period> such as 100/hour`);
  const limit = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const period = PERIOD_ALIASES[unit];
  if (!period) return fail(`unknown period '${unit}' in rate '${input}': expected one of ${PERIOD_NAMES.join(', ')}`);
  if (limit <= 0) return fail(`rate '${input}' must allow at least 1 call per ${period}`);
  return { ok: true, value: { limit, period, periodMs: PERIOD_MS[period] } };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY };

/** `30s`, `30m`, `1h`, `1h30m`, `2d`, `500ms`. */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input !== 'string')
    return fail(
      `expected a duration like 30m or 1h, got ${describe(input)}${typeof input === 'number' ? ' (add a unit: ms, s, m, h, d, w)' : ''}`,
    );
  const text = input.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (text === '' || consumed !== text.length)
    return fail(`invalid duration '${input}': expected a number with a unit (ms, s, m, h, d, w) such as 30m or 1h30m`);
  if (total <= 0) return fail(`duration '${input}' must be greater than zero`);
  return { ok: true, value: Math.round(total) };
}

/** `80%` -> 0.8; also a named threshold from the level table. Result is in (0, 1]. */
export function parsePercent(input: unknown, levels?: LevelTable): Parsed<number> {
  if (typeof input === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(input);
    if (m) {
      const pct = Number(m[1]);
      if (pct <= 0 || pct > 100) return fail(`percentage '${input}' must be between 0% (exclusive) and 100%`);
      return { ok: true, value: pct / 100 };
    }
    if (levels && input in levels.threshold) return { ok: true, value: levels.threshold[input]! };
  }
  const named = levels ? `, or a named level (${Object.keys(levels.threshold).join(', ')})` : '';
  return fail(`expected a percentage such as 80%${named}, got ${describe(input)}`);
}

/** A quota: `10000/month`, a plain number (`100`), or a named level (`high_usage`). */
export function parseQuotaAmount(input: unknown, levels?: LevelTable): Parsed<QuotaAmount> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return fail(`quota must be a non-negative number, got ${input}`);
    return { ok: true, value: { limit: input } };
  }
  if (typeof input === 'string') {
    if (levels && input in levels.quota) return { ok: true, value: { ...levels.quota[input]!, level: input } };
    if (/[/]|\bper\b/.test(input)) {
      const rate = parseRate(input);
      return rate.ok ? { ok: true, value: { ...rate.value } } : rate;
    }
  }
  const named = levels ? `, or a named level (${Object.keys(levels.quota).join(', ')})` : '';
  return fail(`expected a quota such as 10000/month or a number${named}, got ${describe(input)}`);
}

/** `09:00-17:30` -> minutes after midnight. */
export function parseHours(input: unknown): Parsed<{ startMinute: number; endMinute: number }> {
  const m = typeof input === 'string' ? /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(input) : null;
  if (!m) return fail(`expected an hour range like 09:00-17:00, got ${describe(input)}`);
  const [h1, m1, h2, m2] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59) return fail(`invalid hour range '${String(input)}'`);
  return { ok: true, value: { startMinute: h1 * 60 + m1, endMinute: h2 * 60 + m2 } };
}

/**
 * The named levels the seed uses (`resource_limit: high`, `limit: high_usage`,
 * `alert_threshold: high_utilization`). A config overrides or extends them under `atom_gov.levels`.
 */
export const DEFAULT_LEVELS: LevelTable = {
  quota: {
    low: { limit: 1_000, period: 'month', periodMs: PERIOD_MS.month },
    medium: { limit: 10_000, period: 'month', periodMs: PERIOD_MS.month },
    high: { limit: 100_000, period: 'month', periodMs: PERIOD_MS.month },
    low_usage: { limit: 1_000, period: 'month', periodMs: PERIOD_MS.month },
    medium_usage: { limit: 10_000, period: 'month', periodMs: PERIOD_MS.month },
    high_usage: { limit: 100_000, period: 'month', periodMs: PERIOD_MS.month },
  },
  threshold: {
    low: 0.5,
    medium: 0.75,
    high: 0.9,
    low_utilization: 0.5,
    medium_utilization: 0.75,
    high_utilization: 0.9,
  },
};

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${String(value)}`;
}
