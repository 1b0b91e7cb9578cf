import { describe, expect, it } from '@jest/globals';
import { retentionCutoff } from './retention-cutoff.js';

describe('retentionCutoff', () => {
  it.each([
    // now (UTC), days, zone, cut-off (UTC)
    ['2026-11-25T03:00:00Z', 2555, 'UTC', '2019-11-27T00:00:00.000Z'], // seven years of 365/366-day years
    ['2028-03-01T10:00:00Z', 1, 'UTC', '2028-02-29T00:00:00.000Z'], // leap day
    ['2027-03-01T10:00:00Z', 1, 'UTC', '2027-02-28T00:00:00.000Z'], // no leap day
    ['2026-03-31T10:00:00Z', 31, 'UTC', '2026-02-28T00:00:00.000Z'], // across a short month
    ['2026-01-01T00:30:00Z', 365, 'UTC', '2025-01-01T00:00:00.000Z'],
    // Local midnight: 00:30 UTC on 25 Nov is still 24 Nov in New York.
    ['2026-11-25T00:30:00Z', 1, 'America/New_York', '2026-11-23T05:00:00.000Z'],
    // Across the spring DST change in Paris (29 March 2026): midnight is +01:00 before, +02:00 after.
    ['2026-04-02T12:00:00Z', 5, 'Europe/Paris', '2026-03-27T23:00:00.000Z'],
    ['2026-04-02T12:00:00Z', 1, 'Europe/Paris', '2026-03-31T22:00:00.000Z'],
  ])('%s minus %i days in %s -> %s', (now, days, zone, expected) => {
    expect(retentionCutoff(new Date(now), days, zone).toISOString()).toBe(expected);
  });

  it('refuses a bad number of days or an unknown zone, saying what to give', () => {
    expect(() => retentionCutoff(new Date(), 0)).toThrow(/retention_days must be a whole number of days >= 1/);
    expect(() => retentionCutoff(new Date(), 7, 'Mars/Olympus')).toThrow(/unknown time zone 'Mars\/Olympus'/);
  });
});
