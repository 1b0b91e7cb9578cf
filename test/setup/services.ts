// Shared real services for the Jest suite. Each entry starts one service and returns its stop function.
import { startPostgres } from './postgres.js';
import { startRedis } from './redis.js';
import { startTemporal } from './temporal.js';
type Stop = () => Promise<void>;
const starters: Array<() => Promise<Stop>> = [startRedis, startPostgres, startTemporal];
const stops: Stop[] = [];

export async function startSuiteServices(): Promise<void> {
  const started = await Promise.all(starters.map((start) => start()));
  stops.push(...started);
}

export async function stopSuiteServices(): Promise<void> {
  await Promise.allSettled(stops.splice(0).map((stop) => stop()));
}
