import { describe, expect, it } from '@jest/globals';
import { PERIOD_MS, formatDuration, formatLimit, rateLimitExceededMessage } from './index.js';

describe('rate-limit messages', () => {
  it('writes the message the assistant sees on a denial', () => {
    expect(
      rateLimitExceededMessage({ limit: 100, periodMs: PERIOD_MS.hour, per: ['user'], retryAfterMs: 11 * 60_000 + 1 }),
    ).toBe('rate limit 100/hour per user exceeded; retry after 12 min');
    expect(rateLimitExceededMessage({ limit: 5, periodMs: PERIOD_MS.day, per: [], retryAfterMs: 3 * 3_600_000 })).toBe(
      'rate limit 5/day exceeded; retry after 3 h',
    );
    expect(
      rateLimitExceededMessage({
        limit: 100,
        periodMs: PERIOD_MS.hour,
        per: ['tenant', 'tool'],
        retryAfterMs: 90_000,
        burst: { burst: 10, intervalMs: 6 * 60_000 },
      }),
    ).toBe('burst limit 10 per 6 min (of 100/hour) per tenant+tool exceeded; retry after 90 s');
  });

  it('names periods from a second to a month and falls back to multiples', () => {
    expect(formatLimit(10, PERIOD_MS.second)).toBe('10/second');
    expect(formatLimit(10, PERIOD_MS.week)).toBe('10/week');
    expect(formatLimit(10, PERIOD_MS.month)).toBe('10/month');
    expect(formatLimit(10, 30 * 24 * 3_600_000)).toBe('10/month');
    expect(formatLimit(5, 2 * PERIOD_MS.minute)).toBe('5/2 minutes');
    expect(formatLimit(5, 1_500)).toBe('5/1500 ms');
  });

  it('rounds retry times up, never suggesting a retry that would still be refused', () => {
    expect(formatDuration(1)).toBe('1 s');
    expect(formatDuration(1_001)).toBe('2 s');
    expect(formatDuration(119_000)).toBe('119 s');
    expect(formatDuration(120_001)).toBe('3 min');
    expect(formatDuration(3_600_000 + 60_000)).toBe('1 h 1 min');
    expect(formatDuration(2 * 24 * 3_600_000 + 1)).toBe('3 days');
  });
});
