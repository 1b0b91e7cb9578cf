// Shared real services for the Jest suite. Each entry starts one service and returns its stop function.
import { startPostgres } from './postgres.js';
import { useScratchTmpdir } from './scratch-tmpdir.js';
import { startRedis } from './redis.js';
import { startTemporal } from './temporal.js';
type Stop = () => Promise<void>;
const starters: Array<() => Promise<Stop>> = [startRedis, startPostgres, startTemporal];
const stops: Stop[] = [];

export async function startSuiteServices(): Promise<void> {
  // First in, last out: the services keep their data directories under the scratch directory.
  stops.push(useScratchTmpdir());
  const started = await Promise.all(starters.map((start) => start()));
  stops.push(...started);
}

export async function stopSuiteServices(): Promise<void> {
  const [removeScratch, ...services] = stops.splice(0);
  await Promise.allSettled(services.map((stop) => stop()));
  await removeScratch?.();
}
