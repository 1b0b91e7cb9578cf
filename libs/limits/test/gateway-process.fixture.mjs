// A stand-in "gateway process" for rate-limit.redis.spec.ts: its own RateLimitService and Redis client, driven
// over stdin/stdout so two of them can hit one shared limit at the same moment. Runs the built package (dist).
import { createInterface } from 'node:readline';
import { RateLimitService } from '@atom-gov/limits';

const { url, spec, ctx, attempts, now } = JSON.parse(process.env.ATOM_GOV_LIMITS_FIXTURE ?? '{}');
const service = await RateLimitService.create({ redisUrl: url, clock: () => now });
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'go') break;
}
process.stdin.destroy(); // readline leaves stdin open, which would keep this process alive
const results = await Promise.all(Array.from({ length: attempts }, () => service.check(spec, ctx)));
await service.close();
const allowed = results.filter((r) => r.allowed).length;
const storeErrors = results.filter((r) => r.code === 'store_unavailable').length;
process.stdout.write(`${JSON.stringify({ allowed, storeErrors })}\n`);
