// In-memory limits under Jest's modern fake timers: RLF's memory store reads Date.now() and expires keys with
// setTimeout, both of which the fake clock drives, and the service's default clock is Date.now as well.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  PERIOD_MS,
  RateLimitService,
  RateLimitSpecError,
  validateRateLimitSpec,
  type RateLimitContext,
  type RateLimitSpec,
} from './index.js';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0); // a Monday, 10:00:00.000 UTC: a fixed-window edge for every unit
const alice: RateLimitContext = { tenant: 'acme', user: 'alice', server: 'perplexity_mcp', tool: 'research.search' };
const bob: RateLimitContext = { ...alice, user: 'bob' };

function spec(overrides: Partial<RateLimitSpec> = {}): RateLimitSpec {
  return {
    name: 'research_rate_limit',
    limit: 10,
    periodMs: PERIOD_MS.minute,
    window: 'sliding',
    per: ['user'],
    enforcement: 'hard',
    ...overrides,
  };
}

/** Attempts a call at each time (ms since T0, ascending) and returns the times that were admitted. */
async function simulate(
  service: RateLimitService,
  s: RateLimitSpec,
  times: readonly number[],
  ctx = alice,
): Promise<number[]> {
  const admitted: number[] = [];
  for (const t of times) {
    jest.setSystemTime(T0 + t);
    const result = await service.check(s, ctx);
    if (result.allowed) admitted.push(t);
  }
  return admitted;
}

/** The most admitted calls in any closed window [x, x + length]: checked at every admitted time. */
function maxInAnyWindow(admitted: readonly number[], length: number): number {
  let max = 0;
  for (let i = 0, j = 0; j < admitted.length; j++) {
    while (admitted[j]! - admitted[i]! > length) i++;
    max = Math.max(max, j - i + 1);
  }
  return max;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing series can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RateLimitService (memory, fake clock)', () => {
  let service: RateLimitService;

  beforeEach(async () => {
    jest.useFakeTimers({ now: T0 });
    service = await RateLimitService.create();
  });

  afterEach(async () => {
    await service.close();
    jest.useRealTimers();
  });

  it('takes limits already parsed from config and denies the 101st call of 100/hour with a retry hint', async () => {
    const s = spec({ limit: 100, periodMs: 3_600_000 });
    for (let i = 0; i < 100; i++) {
      jest.setSystemTime(T0 + i * 1_000);
      const result = await service.check(s, alice);
      expect(result).toMatchObject({ allowed: true, limitHit: false, remaining: 99 - i, retryAfterMs: 0 });
    }
    jest.setSystemTime(T0 + 48 * 60_000);
    const denied = await service.check(s, alice);
    expect(denied).toMatchObject({ allowed: false, limitHit: true, code: 'rate_limited', remaining: 0 });
    // All 100 calls sit in the first 6-minute bucket, which leaves the counted range at 10:00 + 66 min.
    expect(denied.retryAfterMs).toBe(18 * 60_000);
    expect(denied.message).toBe('rate limit 100/hour per user exceeded; retry after 18 min');
    expect(service.backend).toBe('memory');
  });

  it('fixed window admits 2x the limit across a window edge; sliding never more than the limit', async () => {
    // 10 calls in the last 100 ms of a minute, 10 in the first 100 ms of the next.
    const times = [
      ...Array.from({ length: 10 }, (_, i) => 59_900 + i * 10),
      ...Array.from({ length: 10 }, (_, i) => 60_000 + i * 10),
    ];
    const fixed = await simulate(service, spec({ window: 'fixed', name: 'fixed' }), times);
    expect(fixed).toHaveLength(20);
    expect(maxInAnyWindow(fixed, PERIOD_MS.minute)).toBe(20);

    const sliding = await simulate(service, spec({ window: 'sliding', name: 'sliding' }), times);
    expect(sliding).toHaveLength(10);
    expect(maxInAnyWindow(sliding, PERIOD_MS.minute)).toBe(10);
  });

  it('sliding: no window of the period ever admits more than the limit over a long random series', async () => {
    const rnd = random(42);
    const times: number[] = [];
    // 30 minutes of bursty demand: quiet gaps, bursts, and calls piled on minute edges.
    for (let t = 0; t < 30 * 60_000;) {
      const r = rnd();
      if (r < 0.1) t += 60_000 - (t % 60_000) - 1 + Math.floor(rnd() * 3);
      else if (r < 0.4) t += Math.floor(rnd() * 50);
      else t += Math.floor(rnd() * 4_000);
      times.push(t);
    }
    const s = spec({ limit: 7, periodMs: PERIOD_MS.minute });
    const admitted = await simulate(service, s, times);
    expect(maxInAnyWindow(admitted, PERIOD_MS.minute)).toBeLessThanOrEqual(7);
    expect(admitted.length).toBeLessThan(times.length);
  });

  it('sliding under constant over-demand admits at least the limit per period + period/buckets', async () => {
    const times = Array.from({ length: 30 * 60 }, (_, i) => i * 1_000); // one call per second for 30 minutes
    const admitted = await simulate(service, spec({ limit: 7 }), times);
    expect(maxInAnyWindow(admitted, PERIOD_MS.minute)).toBeLessThanOrEqual(7);
    // The conservative overshoot is one 6 s bucket: at least 7 calls per 66 s get through.
    expect(admitted.length).toBeGreaterThanOrEqual(Math.floor((30 * 60_000) / 66_000) * 7);
  });

  it('burst: at most `burst` calls in any period*burst/limit, and never more than the limit per period', async () => {
    const s = spec({ limit: 100, periodMs: PERIOD_MS.hour, burst: 10 });
    const first = await simulate(
      service,
      s,
      Array.from({ length: 15 }, (_, i) => i),
    );
    expect(first).toHaveLength(10);

    jest.setSystemTime(T0 + 20);
    const denied = await service.check(s, alice);
    expect(denied).toMatchObject({ allowed: false, limitHit: true, code: 'rate_limited' });
    // The burst interval is 6 min (100/hour * 10/100); its 36 s buckets: the first leaves the range at 6:36.
    expect(denied.retryAfterMs).toBe(6 * 60_000 + 36_000 - 20);
    expect(denied.message).toBe('burst limit 10 per 6 min (of 100/hour) per user exceeded; retry after 7 min');

    const times: number[] = [];
    for (let t = 1_000; t < 3 * PERIOD_MS.hour; t += 2_000) times.push(t); // one call every 2 s for 3 hours
    const admitted = [...first, ...(await simulate(service, s, times))];
    expect(maxInAnyWindow(admitted, 6 * 60_000)).toBeLessThanOrEqual(10);
    expect(maxInAnyWindow(admitted, PERIOD_MS.hour)).toBeLessThanOrEqual(100);
    expect(admitted.length).toBeGreaterThan(2 * 90);
  });

  it('burst equal to the limit behaves like no burst; a burst above the limit is refused', async () => {
    const same = await simulate(
      service,
      spec({ name: 'b', burst: 10 }),
      Array.from({ length: 12 }, (_, i) => i),
    );
    expect(same).toHaveLength(10);
    // burst: 0 is the config's "no burst".
    const none = await simulate(
      service,
      spec({ name: 'b0', burst: 0 }),
      Array.from({ length: 12 }, (_, i) => i),
    );
    expect(none).toHaveLength(10);
    expect(() => validateRateLimitSpec(spec({ burst: 11 }))).toThrow(
      /burst: must be a whole number from 1 to the limit 10/,
    );
  });

  it('fixed window: burst sizes apply within aligned burst intervals', async () => {
    const s = spec({ window: 'fixed', limit: 60, periodMs: PERIOD_MS.minute, burst: 5 }); // 5 per 5 s
    const admitted = await simulate(
      service,
      s,
      Array.from({ length: 60 }, (_, i) => i * 500),
    ); // 2 calls/s
    // Each aligned 5 s interval admits 5 of its 10 attempts.
    expect(admitted).toHaveLength(30);
    for (let start = 0; start < 30_000; start += 5_000) {
      expect(admitted.filter((t) => t >= start && t < start + 5_000)).toHaveLength(5);
    }
  });

  it('isolates keys: user A exhausting the limit never limits user B', async () => {
    const s = spec({ limit: 3 });
    expect(await simulate(service, s, [0, 1, 2, 3, 4])).toHaveLength(3);
    expect(await simulate(service, s, [5, 6, 7, 8], bob)).toHaveLength(3);
    expect(await simulate(service, s, [9, 10], alice)).toHaveLength(0);
    // Another policy is another counter; per tenant+user separates alice@acme from alice@globex.
    expect(await simulate(service, spec({ limit: 3, name: 'other' }), [12, 13, 14, 15])).toHaveLength(3);
    const perTenantUser = spec({ limit: 3, name: 'tu', per: ['tenant', 'user'] });
    expect(await simulate(service, perTenantUser, [16, 17, 18, 19])).toHaveLength(3);
    expect(await simulate(service, perTenantUser, [20, 21, 22, 23], { ...alice, tenant: 'globex' })).toHaveLength(3);
    // per server: one counter for every user of the server.
    const perServer = spec({ limit: 3, name: 'srv', per: ['server'] });
    expect(await simulate(service, perServer, [24, 25])).toHaveLength(2);
    expect(await simulate(service, perServer, [26, 27], bob)).toHaveLength(1);
  });

  it('derives stable keys: part order does not matter, separators in values cannot collide', async () => {
    const ab = await service.check(spec({ per: ['user', 'tenant'] }), alice);
    const ba = await service.check(spec({ per: ['tenant', 'user'] }), alice);
    expect(ab.key).toBe(ba.key);
    expect(ab.key).toBe('atom-gov:rl:research_rate_limit:tenant=acme,user=alice');
    const tricky1 = await service.check(spec({ per: ['tenant', 'user'] }), { ...alice, tenant: 'a,user=b', user: 'c' });
    const tricky2 = await service.check(spec({ per: ['tenant', 'user'] }), { ...alice, tenant: 'a', user: 'b,user=c' });
    expect(tricky1.key).not.toBe(tricky2.key);
    const noTool = await service.check(spec({ per: ['tool'] }), { tenant: 't', user: 'u', server: 's' });
    const tildeTool = await service.check(spec({ per: ['tool'] }), { tenant: 't', user: 'u', server: 's', tool: '~' });
    expect(noTool.key).not.toBe(tildeTool.key);
    const global = await service.check(spec({ per: [] }), alice);
    expect(global.key).toBe('atom-gov:rl:research_rate_limit:*');
    // The config's forms: a single scope and `global`.
    expect((await service.check(spec({ per: 'global' }), bob)).key).toBe(global.key);
    expect((await service.check(spec({ per: 'user' }), alice)).key).toBe('atom-gov:rl:research_rate_limit:user=alice');
  });

  it.each(['soft', 'warn'] as const)(
    '%s enforcement allows over the limit but reports the hit',
    async (enforcement) => {
      const s = spec({ limit: 2, enforcement });
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await service.check(s, alice));
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, true]);
      expect(results.map((r) => r.limitHit)).toEqual([false, false, true, true]);
      expect(results[2]).toMatchObject({ enforcement, code: 'rate_limited', remaining: 0 });
      expect(results[2]!.message).toBe('rate limit 2/minute per user exceeded; retry after 66 s');
      expect(results[2]!.retryAfterMs).toBeGreaterThan(0);
    },
  );

  it.each(['sliding', 'fixed'] as const)(
    '%s: retryAfterMs is exact: denied 1 ms before, admitted at it',
    async (window) => {
      const s = spec({ window, limit: 5, periodMs: PERIOD_MS.minute });
      await simulate(service, s, [1_000, 7_000, 13_000, 20_000, 31_000]);
      jest.setSystemTime(T0 + 40_000);
      const denied = await service.check(s, alice);
      expect(denied.allowed).toBe(false);
      const retryAt = T0 + 40_000 + denied.retryAfterMs;
      // fixed: the next minute; sliding: when the bucket of the 1 s call (0-6 s) leaves the range, at 66 s.
      expect(retryAt - T0).toBe(window === 'fixed' ? 60_000 : 66_000);
      jest.setSystemTime(retryAt - 1);
      expect((await service.check(s, alice)).allowed).toBe(false);
      jest.setSystemTime(retryAt);
      expect((await service.check(s, alice)).allowed).toBe(true);
    },
  );

  it('month limits are 30 days, also in memory where timers above 24.8 days would overflow', async () => {
    const sliding = spec({ name: 'monthly_sliding', limit: 3, periodMs: PERIOD_MS.month });
    const fixed = spec({ name: 'monthly_fixed', window: 'fixed', limit: 3, periodMs: PERIOD_MS.month });
    expect(await simulate(service, sliding, [0, 1, 2, 3])).toHaveLength(3);
    expect(await simulate(service, fixed, [0, 1, 2, 3])).toHaveLength(3);
    // An overflowing RLF timer fires after 1 ms and drops the counter: run the timers to prove it does not.
    jest.advanceTimersByTime(60_000);
    const now = Date.now();
    const fixedDenied = await service.check(fixed, alice);
    expect(fixedDenied.allowed).toBe(false);
    // Fixed months are aligned 30-day blocks counted from Monday 1970-01-05.
    const origin = 4 * PERIOD_MS.day;
    const windowEnd = origin + Math.ceil((now - origin) / PERIOD_MS.month) * PERIOD_MS.month;
    expect(fixedDenied.retryAfterMs).toBe(windowEnd - now);

    jest.setSystemTime(T0 + 20 * PERIOD_MS.day);
    const denied = await service.check(sliding, alice);
    expect(denied.allowed).toBe(false);
    // The calls' 3-day bucket leaves the counted range 33 days after it began.
    expect(denied.retryAfterMs).toBe(
      Math.floor(T0 / (3 * PERIOD_MS.day)) * 3 * PERIOD_MS.day + 33 * PERIOD_MS.day - (T0 + 20 * PERIOD_MS.day),
    );
    expect(denied.message).toMatch(/^rate limit 3\/month per user exceeded; retry after \d+ days$/);
    jest.setSystemTime(T0 + 20 * PERIOD_MS.day + denied.retryAfterMs);
    expect((await service.check(sliding, alice)).allowed).toBe(true);
  });

  it('RLF memory expiry runs under Jest modern fake timers (TTL cleans up; correctness never needs it)', async () => {
    const s = spec({ limit: 2 });
    await simulate(service, s, [0, 1, 2]);
    expect(jest.getTimerCount()).toBeGreaterThan(0);
    jest.advanceTimersByTime(2 * PERIOD_MS.minute);
    expect(jest.getTimerCount()).toBe(0);
    expect((await service.check(s, alice)).allowed).toBe(true);
  });

  it('refuses specs it cannot enforce, naming the field', () => {
    expect(() => validateRateLimitSpec(spec({ limit: 0 }))).toThrow(RateLimitSpecError);
    expect(() => validateRateLimitSpec(spec({ limit: 0 }))).toThrow(
      'rate_limit "research_rate_limit".limit: must be a whole number',
    );
    expect(() => validateRateLimitSpec(spec({ periodMs: 500 }))).toThrow(
      /periodMs: must be a whole number of ms from 1000/,
    );
    expect(() => validateRateLimitSpec(spec({ window: 'rolling' as 'sliding' }))).toThrow(
      /window: must be "sliding" or "fixed"/,
    );
    expect(() => validateRateLimitSpec(spec({ per: ['ip' as 'user'] }))).toThrow(/unknown key part "ip"/);
    expect(() => validateRateLimitSpec(spec({ per: 'ip' as 'user' }))).toThrow(/unknown key part "ip"/);
    expect(() => validateRateLimitSpec(spec({ enforcement: 'block' as 'hard' }))).toThrow(
      /enforcement: must be "hard"/,
    );
  });
});
