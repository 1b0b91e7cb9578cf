// Limits on a real redis-server shared by several limiter instances and processes. Real timers here (ioredis
// needs them); time is injected through the service clock, which the bucket keys depend on, not Redis TTLs.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, spawnRedisServer, type RedisServer } from '../../../test/setup/redis.js';
import {
  PERIOD_MS,
  RateLimitService,
  RateLimitStoreError,
  type RateLimitContext,
  type RateLimitSpec,
} from './index.js';

const libDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const run = randomUUID().slice(0, 8); // the shared Redis outlives a test file: names are unique per run
const alice: RateLimitContext = { tenant: 'acme', user: 'alice', server: 'perplexity_mcp', tool: 'research.search' };
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function spec(name: string, overrides: Partial<RateLimitSpec> = {}): RateLimitSpec {
  return {
    name: `${run}-${name}`,
    limit: 10,
    periodMs: PERIOD_MS.hour,
    window: 'sliding',
    per: ['user'],
    enforcement: 'hard',
    ...overrides,
  };
}

const services: RateLimitService[] = [];
async function service(url: string, clock: () => number, commandTimeoutMs?: number): Promise<RateLimitService> {
  const s = await RateLimitService.create({
    redisUrl: url,
    clock,
    ...(commandTimeoutMs === undefined ? {} : { commandTimeoutMs }),
  });
  services.push(s);
  return s;
}

describe('RateLimitService on Redis', () => {
  let own: RedisServer | undefined;
  let url: string;

  beforeAll(async () => {
    // The suite's shared Redis (test/setup/redis.ts); a private one when this file runs without global setup.
    url = process.env.ATOM_GOV_TEST_REDIS_URL ?? (own = await spawnRedisServer()).url;
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    await own?.stop();
  });

  it('two limiter instances (two Redis clients) share one limit under concurrent calls', async () => {
    const clock = (): number => T0;
    const gw1 = await service(url, clock);
    const gw2 = await service(url, clock);
    expect(gw1.backend).toBe('redis');
    for (const window of ['sliding', 'fixed'] as const) {
      const s = spec(`shared-${window}`, { window, limit: 40, burst: 40 });
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? gw1 : gw2).check(s, alice)),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(40);
      expect(results.filter((r) => r.limitHit)).toHaveLength(20);
      // Denied calls gave their points back: exactly the limit is used, for either instance.
      expect((await gw2.check(s, { ...alice })).allowed).toBe(false);
      expect((await gw1.check(s, { ...alice, user: 'bob' })).allowed).toBe(true);
    }
  });

  it('fixed admits 2x the limit across an edge, sliding never more than the limit (Redis, injected clock)', async () => {
    let now = T0;
    const gw = await service(url, () => now);
    const times = [
      ...Array.from({ length: 10 }, (_, i) => 59_900 + i * 10),
      ...Array.from({ length: 10 }, (_, i) => 60_000 + i * 10),
    ];
    for (const [window, expected] of [
      ['fixed', 20],
      ['sliding', 10],
    ] as const) {
      const s = spec(`edge-${window}`, { window, periodMs: PERIOD_MS.minute });
      let admitted = 0;
      for (const t of times) {
        now = T0 + t;
        if ((await gw.check(s, alice)).allowed) admitted++;
      }
      expect(admitted).toBe(expected);
    }
    // Sliding recovers when the bucket of the first calls (54-60 s) leaves the counted range, at 120 s.
    const s = spec('edge-sliding', { periodMs: PERIOD_MS.minute });
    now = T0 + 120_000 - 1;
    expect((await gw.check(s, alice)).allowed).toBe(false);
    now = T0 + 120_000;
    expect((await gw.check(s, alice)).allowed).toBe(true);
  });

  it('sliding across two instances: no window of the period ever admits more than the limit', async () => {
    let now = T0;
    const gw1 = await service(url, () => now);
    const gw2 = await service(url, () => now);
    const s = spec('sliding-series', { limit: 20, periodMs: PERIOD_MS.minute, burst: 8 });
    const admitted: number[] = [];
    // Three concurrent calls every 700 ms for 3 minutes, split over both instances.
    for (let t = 0; t < 3 * PERIOD_MS.minute; t += 700) {
      now = T0 + t;
      const results = await Promise.all([gw1.check(s, alice), gw2.check(s, alice), gw1.check(s, alice)]);
      for (const r of results) if (r.allowed) admitted.push(t);
    }
    const maxIn = (length: number): number =>
      Math.max(...admitted.map((t) => admitted.filter((u) => u >= t && u <= t + length).length));
    expect(maxIn(PERIOD_MS.minute)).toBeLessThanOrEqual(20);
    expect(maxIn(24_000)).toBeLessThanOrEqual(8); // burst 8 of 20/minute: 8 per 24 s
    expect(admitted.length).toBeGreaterThanOrEqual(40);
  });

  describe('two gateway processes', () => {
    beforeAll(() => {
      // The child processes run the built package, so build exactly what this test checks.
      execFileSync(
        `${repoRoot}/node_modules/.bin/swc`,
        ['src', '-d', 'dist', '--strip-leading-paths', '--config-file', `${repoRoot}/.swcrc`, '-q'],
        { cwd: libDir, stdio: 'inherit' },
      );
    });

    function startProcess(s: RateLimitSpec, attempts: number): ChildProcessWithoutNullStreams {
      return spawn(process.execPath, [`${libDir}/test/gateway-process.fixture.mjs`], {
        cwd: repoRoot,
        env: {
          ...process.env,
          ATOM_GOV_LIMITS_FIXTURE: JSON.stringify({ url, spec: s, ctx: alice, attempts, now: T0 }),
        },
      });
    }

    function lines(child: ChildProcessWithoutNullStreams): AsyncIterator<string> {
      child.stderr.setEncoding('utf8');
      let stderr = '';
      child.stderr.on('data', (d: string) => (stderr += d));
      child.once('exit', (code) => {
        if (code !== 0) process.stderr.write(`gateway-process fixture exited ${code}: ${stderr}\n`);
      });
      return createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    }

    it('share one Redis limit: together they admit exactly the limit', async () => {
      const s = spec('two-processes', { limit: 60 });
      const children = [startProcess(s, 50), startProcess(s, 50)];
      const outputs = children.map(lines);
      for (const out of outputs) expect((await out.next()).value).toBe('ready');
      const exits = children.map((child) => new Promise<number | null>((resolve) => child.once('exit', resolve)));
      for (const child of children) child.stdin.end('go\n');
      const reports = await Promise.all(
        outputs.map(
          async (out) => JSON.parse(String((await out.next()).value)) as { allowed: number; storeErrors: number },
        ),
      );
      expect(await Promise.all(exits)).toEqual([0, 0]);
      expect(reports.map((r) => r.storeErrors)).toEqual([0, 0]);
      expect(reports[0]!.allowed + reports[1]!.allowed).toBe(60);
      // Both took part (each sent 50 concurrently, so neither can have had the whole limit alone).
      expect(reports[0]!.allowed).toBeGreaterThanOrEqual(10);
      expect(reports[1]!.allowed).toBeGreaterThanOrEqual(10);
      // And this third process-like instance sees the same exhausted limit.
      const gw3 = await service(url, () => T0);
      expect(await gw3.check(s, alice)).toMatchObject({ allowed: false, limitHit: true, code: 'rate_limited' });
    });
  });

  describe('store outages', () => {
    it('Redis stopped mid-test: fails closed with a clear reason, honours failOpen, recovers after restart', async () => {
      const redis = await spawnRedisServer();
      const errors: Error[] = [];
      try {
        const gw = await RateLimitService.create({
          redisUrl: redis.url,
          clock: () => T0,
          commandTimeoutMs: 200,
          onStoreError: (e) => errors.push(e),
        });
        services.push(gw);
        const hard = spec('outage', { limit: 5 });
        const open = spec('outage-open', { limit: 5, failOpen: true });
        const soft = spec('outage-soft', { limit: 5, enforcement: 'soft' });
        expect((await gw.check(hard, alice)).allowed).toBe(true);
        expect(gw.isStoreReady()).toBe(true);

        await redis.stop();
        const started = performance.now();
        const denied = await gw.check(hard, alice);
        const elapsed = performance.now() - started;
        expect(denied).toMatchObject({ allowed: false, limitHit: false, code: 'store_unavailable', remaining: 0 });
        expect(denied.message).toMatch(
          /^rate limit 5\/hour per user could not be checked: rate-limit store unavailable \(Redis redis:\/\/127\.0\.0\.1:\d+: .+\); denied \(fails closed\)$/,
        );
        expect(elapsed).toBeLessThan(1_000);
        expect(errors.length).toBeGreaterThan(0);

        expect(await gw.check(open, alice)).toMatchObject({ allowed: true, code: 'store_unavailable' });
        expect((await gw.check(open, alice)).message).toMatch(/allowed \(fail open\)$/);
        expect(await gw.check(soft, alice)).toMatchObject({ allowed: true, code: 'store_unavailable' });
        expect(gw.isStoreReady()).toBe(false);

        const restarted = await spawnRedisServer({ port: redis.port });
        try {
          await gw.whenStoreReady();
          // The restarted Redis kept nothing (no persistence): a fresh count.
          expect(await gw.check(hard, alice)).toMatchObject({ allowed: true, remaining: 4, limitHit: false });
        } finally {
          await gw.close();
          await restarted.stop();
        }
      } finally {
        await redis.stop();
      }
    });

    it('a hung Redis (SIGSTOP) is detected within the command timeout and fails closed', async () => {
      const redis = await spawnRedisServer();
      try {
        const gw = await service(redis.url, () => T0, 200);
        const s = spec('hung', { limit: 5 });
        expect((await gw.check(s, alice)).allowed).toBe(true);
        process.kill(redis.pid, 'SIGSTOP');
        try {
          const started = performance.now();
          const denied = await gw.check(s, alice);
          const elapsed = performance.now() - started;
          expect(denied).toMatchObject({ allowed: false, code: 'store_unavailable' });
          expect(denied.message).toMatch(/Command timed out/);
          expect(elapsed).toBeGreaterThanOrEqual(150);
          expect(elapsed).toBeLessThan(1_000);
        } finally {
          process.kill(redis.pid, 'SIGCONT');
        }
        expect((await gw.check(s, alice)).allowed).toBe(true);
      } finally {
        await redis.stop();
      }
    });

    it('refuses to start against an unreachable or malformed redis.url, saying what to do', async () => {
      const port = await freePort();
      const failure = RateLimitService.create({ redisUrl: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200 });
      await expect(failure).rejects.toBeInstanceOf(RateLimitStoreError);
      await expect(failure).rejects.toThrow(
        new RegExp(
          `^cannot connect to Redis at redis://127\\.0\\.0\\.1:${port} \\(redis\\.url\\): connect ECONNREFUSED .*remove redis\\.url`,
        ),
      );
      await expect(RateLimitService.create({ redisUrl: 'http://127.0.0.1:6379' })).rejects.toThrow(
        'redis.url must start with redis:// or rediss:// (got http://)',
      );
    });
  });
});
