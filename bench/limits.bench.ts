// Rate-limit check() throughput, in memory and on a local redis-server (started here unless
// ATOM_GOV_BENCH_REDIS_URL is set). Node 20 cannot run TypeScript, so compile first:
//   npm run build && node_modules/.bin/swc bench/limits.bench.ts test/setup/redis.ts -d bench/dist \
//     --config-file .swcrc -q && node bench/dist/bench/limits.bench.js [--seconds 2]
import { PERIOD_MS, RateLimitService, type RateLimitContext, type RateLimitSpec } from '@atom-gov/limits';
import { spawnRedisServer, type RedisServer } from '../test/setup/redis.js';

const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;

const specs: Record<string, RateLimitSpec> = {
  'sliding 100/hour per user': {
    name: 'bench_sliding',
    limit: 100,
    periodMs: PERIOD_MS.hour,
    window: 'sliding',
    per: ['user'],
    enforcement: 'hard',
  },
  'sliding 100/hour burst 10': {
    name: 'bench_burst',
    limit: 100,
    periodMs: PERIOD_MS.hour,
    window: 'sliding',
    burst: 10,
    per: ['user'],
    enforcement: 'hard',
  },
  'fixed 100/hour per user': {
    name: 'bench_fixed',
    limit: 100,
    periodMs: PERIOD_MS.hour,
    window: 'fixed',
    per: ['user'],
    enforcement: 'hard',
  },
};

// 10 000 users, so most checks are admitted (the common path) and some hit the limit.
const users: RateLimitContext[] = Array.from({ length: 10_000 }, (_, i) => ({
  tenant: 'acme',
  user: `user-${i}`,
  server: 'perplexity_mcp',
  tool: 'research.search',
}));

async function measure(service: RateLimitService, spec: RateLimitSpec, inFlight: number): Promise<number> {
  let done = 0;
  const deadline = performance.now() + seconds * 1_000;
  const worker = async (offset: number): Promise<void> => {
    for (let i = offset; performance.now() < deadline; i += inFlight) {
      await service.check(spec, users[i % users.length]!);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, (_, i) => worker(i)));
  return done / ((performance.now() - started) / 1_000);
}

async function bench(label: string, service: RateLimitService, inFlight: number): Promise<void> {
  for (const [name, spec] of Object.entries(specs)) {
    const perSecond = await measure(service, spec, inFlight);
    console.log(
      `${label.padEnd(26)} ${name.padEnd(28)} ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} checks/s`,
    );
  }
}

async function main(): Promise<void> {
  console.log(`rate-limit check() throughput (${seconds} s per row, node ${process.version})`);
  const memory = await RateLimitService.create();
  await bench('memory, 1 in flight', memory, 1);
  await bench('memory, 64 in flight', memory, 64);
  await memory.close();

  let server: RedisServer | undefined;
  const url = process.env.ATOM_GOV_BENCH_REDIS_URL ?? (server = await spawnRedisServer()).url;
  try {
    const redis = await RateLimitService.create({ redisUrl: url });
    await bench('redis, 1 in flight', redis, 1);
    await bench('redis, 64 in flight', redis, 64);
    await redis.close();
  } finally {
    await server?.stop();
  }
}

await main();
