import { DateTime } from 'luxon';

/**
 * The instant before which audit events have expired: local midnight, in `timeZone`, of the calendar day
 * `retentionDays` days before `now`'s local day. Calendar arithmetic (luxon), so month lengths, leap days and
 * daylight-saving changes land on the right midnight; an event is kept for at least `retentionDays` full days.
 */
export function retentionCutoff(now: Date, retentionDays: number, timeZone = 'UTC'): Date {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new Error(`retention_days must be a whole number of days >= 1, got ${String(retentionDays)}`);
  }
  const local = DateTime.fromJSDate(now, { zone: timeZone });
  if (!local.isValid) {
    throw new Error(`unknown time zone '${timeZone}' for the retention cut-off: use an IANA name such as UTC`);
  }
  return local.startOf('day').minus({ days: retentionDays }).toJSDate();
}
