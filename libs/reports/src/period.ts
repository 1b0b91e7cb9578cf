// Report periods in UTC: `day`, `week` (ISO, from Monday), `month` mean the current one up to now; `2026-10` and
// `2026-10-31` name a calendar month or day. Half-open ranges [since, until), like AuditQuery.
import { ReportError } from './report-error.js';

export interface ReportPeriod {
  /** What was asked: `month`, `2026-10`... */
  label: string;
  kind: 'day' | 'week' | 'month';
  since: Date;
  until: Date;
}

const DAY_MS = 86_400_000;

export function parsePeriod(input: string, now: Date = new Date()): ReportPeriod {
  const text = input.trim();
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  if (text === 'day') return { label: text, kind: 'day', since: new Date(Date.UTC(y, m, d)), until: now };
  if (text === 'week') {
    const monday = Date.UTC(y, m, d) - ((now.getUTCDay() + 6) % 7) * DAY_MS;
    return { label: text, kind: 'week', since: new Date(monday), until: now };
  }
  if (text === 'month') return { label: text, kind: 'month', since: new Date(Date.UTC(y, m, 1)), until: now };
  const month = /^(\d{4})-(\d{2})$/.exec(text);
  if (month) {
    const [year, mon] = [Number(month[1]), Number(month[2])];
    if (mon >= 1 && mon <= 12) {
      return {
        label: text,
        kind: 'month',
        since: new Date(Date.UTC(year, mon - 1, 1)),
        until: new Date(Date.UTC(year, mon, 1)),
      };
    }
  }
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) {
    const since = new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])));
    if (since.toISOString().slice(0, 10) === text) {
      return { label: text, kind: 'day', since, until: new Date(since.getTime() + DAY_MS) };
    }
  }
  throw new ReportError(
    `period '${input}' is not one of: day, week, month (the current one, UTC), a month such as 2026-10, ` +
      'or a day such as 2026-10-31',
  );
}

/** `2026-10-01 – 2026-10-31` (inclusive last day), for headings. */
export function describePeriod(p: ReportPeriod): string {
  const first = p.since.toISOString().slice(0, 10);
  const last = new Date(p.until.getTime() - 1).toISOString().slice(0, 10);
  return first === last ? first : `${first} to ${last}`;
}
