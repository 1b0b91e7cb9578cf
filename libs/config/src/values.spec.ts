import { describe, expect, it } from '@jest/globals';
import { DEFAULT_LEVELS, parseDuration, parsePercent, parseQuotaAmount, parseRate } from './values.js';

describe('value syntaxes', () => {
  it.each([
    ['100/hour', { limit: 100, period: 'hour', periodMs: 3_600_000 }],
    ['5/second', { limit: 5, period: 'second', periodMs: 1000 }],
    ['1000/min', { limit: 1000, period: 'minute', periodMs: 60_000 }],
    ['10000/month', { limit: 10000, period: 'month', periodMs: 30 * 86_400_000 }],
    ['7 per day', { limit: 7, period: 'day', periodMs: 86_400_000 }],
    ['2/weeks', { limit: 2, period: 'week', periodMs: 7 * 86_400_000 }],
  ])('rate %s', (text, expected) => {
    expect(parseRate(text)).toEqual({ ok: true, value: expected });
  });

  it('rejects bad rates with what was expected', () => {
    expect(parseRate('100/fortnight')).toEqual({
      ok: false,
      message:
        "unknown period 'fortnight' in rate '100/fortnight': expected one of second, minute, hour, day, week, month",
    });
    expect(parseRate('0/hour')).toEqual({ ok: false, message: "rate '0/hour' must allow at least 1 call per hour" });
    expect(parseRate('lots')).toMatchObject({ ok: false, message: expect.stringContaining('<count>/<period>') });
    expect(parseRate(100)).toMatchObject({ ok: false, message: 'expected a rate like 100/hour, got number 100' });
  });

  it.each([
    ['1h', 3_600_000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['2d', 172_800_000],
    ['500ms', 500],
  ])('duration %s', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it('rejects durations without units', () => {
    expect(parseDuration('1 hour')).toMatchObject({ ok: false });
    expect(parseDuration('0s')).toEqual({ ok: false, message: "duration '0s' must be greater than zero" });
    expect(parseDuration(60)).toMatchObject({ ok: false, message: expect.stringContaining('add a unit') });
  });

  it('parses percentages and named thresholds', () => {
    expect(parsePercent('80%')).toEqual({ ok: true, value: 0.8 });
    expect(parsePercent('12.5%')).toEqual({ ok: true, value: 0.125 });
    expect(parsePercent('high_utilization', DEFAULT_LEVELS)).toEqual({ ok: true, value: 0.9 });
    expect(parsePercent('180%')).toMatchObject({ ok: false });
    expect(parsePercent('0.8')).toMatchObject({ ok: false, message: "expected a percentage such as 80%, got '0.8'" });
  });

  it('parses quota amounts', () => {
    expect(parseQuotaAmount(100)).toEqual({ ok: true, value: { limit: 100 } });
    expect(parseQuotaAmount('10000/month')).toEqual({
      ok: true,
      value: { limit: 10000, period: 'month', periodMs: 30 * 86_400_000 },
    });
    expect(parseQuotaAmount('high_usage', DEFAULT_LEVELS)).toEqual({
      ok: true,
      value: { limit: 100_000, period: 'month', periodMs: 30 * 86_400_000, level: 'high_usage' },
    });
    expect(parseQuotaAmount('huge', DEFAULT_LEVELS)).toMatchObject({ ok: false });
  });
});
