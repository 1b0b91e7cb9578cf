// Time windows in a named IANA zone, evaluated with Intl (DST-correct: the wall clock of the zone is what
// counts). One cached formatter per zone keeps this to a formatToParts call.
import type { TimeWindow } from '@atom-gov/config';

export interface LocalTime {
  /** mon..sun */
  day: string;
  minute: number;
  /** YYYY-MM-DD in the zone. */
  date: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const DAY_NAMES: Record<string, string> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The last answer per zone, by UTC minute: zone offsets are whole minutes, so the wall-clock minute cannot change
 * within one UTC minute, and formatToParts (the costly part, several µs) runs once a minute per zone, not per call.
 */
const lastByZone = new Map<string, { utcMinute: number; value: LocalTime }>();

export function localTime(time: Date, timeZone: string): LocalTime {
  const utcMinute = Math.floor(time.getTime() / 60_000);
  const cached = lastByZone.get(timeZone);
  if (cached && cached.utcMinute === utcMinute) return cached.value;
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(time)) parts[p.type] = p.value;
  const value: LocalTime = Object.freeze({
    day: DAY_NAMES[parts.weekday ?? ''] ?? '',
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    date: `${parts.year}-${parts.month}-${parts.day}`,
  });
  if (Number.isFinite(utcMinute)) lastByZone.set(timeZone, { utcMinute, value });
  return value;
}

/** Whether `t` (already converted to the window's zone) lies inside the window. */
export function inWindow(w: TimeWindow, t: LocalTime): boolean {
  if (w.dates && !w.dates.some((r) => t.date >= r.from && t.date <= r.to)) return false;
  if (w.days.length > 0 && !w.days.includes(t.day as TimeWindow['days'][number])) return false;
  if (w.startMinute === 0 && w.endMinute >= 24 * 60) return true;
  return w.startMinute <= w.endMinute
    ? t.minute >= w.startMinute && t.minute < w.endMinute
    : t.minute >= w.startMinute || t.minute < w.endMinute; // wraps past midnight
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const ORDER = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const cap = (d: string) => d.charAt(0).toUpperCase() + d.slice(1);

/** "Mon-Fri 09:00-18:00 Europe/Berlin", "2026-12-20..2027-01-04 Europe/Berlin". */
export function describeWindow(w: TimeWindow): string {
  const parts: string[] = [];
  if (w.dates) parts.push(w.dates.map((r) => (r.from === r.to ? r.from : `${r.from}..${r.to}`)).join(', '));
  if (w.days.length > 0) {
    const idx = w.days.map((d) => ORDER.indexOf(d)).sort((a, b) => a - b);
    const contiguous = idx.every((v, i) => i === 0 || v === idx[i - 1]! + 1);
    parts.push(
      contiguous && idx.length > 2
        ? `${cap(ORDER[idx[0]!]!)}-${cap(ORDER[idx[idx.length - 1]!]!)}`
        : idx.map((i) => cap(ORDER[i]!)).join(','),
    );
  }
  if (!(w.startMinute === 0 && w.endMinute >= 24 * 60)) parts.push(`${hhmm(w.startMinute)}-${hhmm(w.endMinute)}`);
  parts.push(w.timezone);
  return parts.join(' ');
}
