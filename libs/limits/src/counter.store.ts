// Counters on rate-limiter-flexible: its atomic increment-with-TTL (a Lua script on Redis), reward and get.
// The admit/deny decision is ours (a sliding window sums several counters), so the RLF limiters get a point
// budget they never reach and every consume reports the post-increment count.
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitStoreError } from './rate-limit.errors.js';

export interface CounterStore {
  readonly backend: 'memory' | 'redis';
  /** Atomically adds one and resolves with the count after the increment. Rejects with RateLimitStoreError. */
  increment(key: string, ttlMs: number): Promise<number>;
  /** Gives one back (a denied call must not use up the limit). */
  decrement(key: string, ttlMs: number): Promise<void>;
  /** Current counts (0 for absent keys). */
  read(keys: readonly string[]): Promise<number[]>;
  /** Whether the store can answer now (a Redis connection is up). */
  isReady(): boolean;
  /** Resolves when the store can answer (at once for memory; on reconnect for Redis). */
  whenReady(): Promise<void>;
  close(): Promise<void>;
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;
// Node timers overflow above 2^31-1 ms (~24.8 days) and then fire after 1 ms, which would drop a month counter
// in RLF's memory store at once: such keys get no RLF expiry and are swept here instead.
const MAX_TIMER_MS = 2 ** 31 - 1;
const SWEEP_EVERY_MS = 60 * 60 * 1000;

function seconds(ttlMs: number): number {
  // Redis TTLs are whole seconds and 0 would mean "never expires".
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

function toStoreError(error: unknown, what: string): RateLimitStoreError {
  if (error instanceof RateLimitStoreError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new RateLimitStoreError(`rate-limit store unavailable (${what}: ${detail})`, { cause: error });
}

/**
 * RLF rejects a consume with a RateLimiterRes when the points are used up and with an Error when the store
 * fails: the first still carries the count, the second is an outage.
 */
function consumeCount(limiter: RateLimiterAbstract, key: string, secDuration: number, what: string): Promise<number> {
  const settle = (rejection: unknown): number => {
    if (rejection instanceof RateLimiterRes) return rejection.consumedPoints;
    throw toStoreError(rejection, what);
  };
  // One .then instead of an async frame (this runs on every rate-limited call); a synchronous throw is still a
  // rejection, as it was from the async function.
  try {
    return limiter.consume(key, 1, { customDuration: secDuration }).then((res) => res.consumedPoints, settle);
  } catch (error) {
    return Promise.resolve().then(() => settle(error));
  }
}

export class MemoryCounterStore implements CounterStore {
  readonly backend = 'memory' as const;
  private readonly limiter = new RateLimiterMemory({ points: UNLIMITED, duration: 0, keyPrefix: '' });
  private readonly longLived = new Map<string, number>();
  private nextSweepAt = 0;

  constructor(private readonly clock: () => number) {}

  private secDuration(key: string, ttlMs: number): number {
    if (ttlMs <= MAX_TIMER_MS) return seconds(ttlMs);
    const now = this.clock();
    if (!this.longLived.has(key)) this.longLived.set(key, now + ttlMs);
    if (now >= this.nextSweepAt) {
      this.nextSweepAt = now + SWEEP_EVERY_MS;
      for (const [k, expiresAt] of this.longLived) {
        if (expiresAt <= now) {
          this.longLived.delete(k);
          void this.limiter.delete(k);
        }
      }
    }
    return 0;
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return consumeCount(this.limiter, key, this.secDuration(key, ttlMs), 'memory');
  }

  async decrement(key: string, ttlMs: number): Promise<void> {
    await this.limiter.reward(key, 1, { customDuration: this.secDuration(key, ttlMs) });
  }

  async read(keys: readonly string[]): Promise<number[]> {
    const results = await Promise.all(keys.map((k) => this.limiter.get(k)));
    return results.map((r) => (r === null ? 0 : Math.max(0, r.consumedPoints)));
  }

  isReady(): boolean {
    return true;
  }

  async whenReady(): Promise<void> {}

  async close(): Promise<void> {
    // Memory counters die with the process; nothing to release.
  }
}

export interface RedisStoreOptions {
  url: string;
  commandTimeoutMs: number;
  onError: (error: Error) => void;
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable redis url>';
  }
}

export class RedisCounterStore implements CounterStore {
  readonly backend = 'redis' as const;
  private readonly limiter: RateLimiterRedis;
  private readonly label: string;
  private lastError: string | undefined;

  private constructor(
    private readonly client: Redis,
    url: string,
  ) {
    this.label = `Redis ${redactRedisUrl(url)}`;
    client.on('error', (error: Error) => (this.lastError = error.message));
    client.on('ready', () => (this.lastError = undefined));
    this.limiter = new RateLimiterRedis({
      storeClient: client,
      points: UNLIMITED,
      duration: 1,
      keyPrefix: '',
      // Fail at once while disconnected instead of waiting for a reconnect.
      rejectIfRedisNotReady: true,
    });
  }

  /** Connects (within a few command timeouts) or throws RateLimitStoreError naming redis.url. */
  static async connect(opts: RedisStoreOptions): Promise<RedisCounterStore> {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new RateLimitStoreError(`redis.url is not a valid URL (expected redis://host:port[/db])`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new RateLimitStoreError(`redis.url must start with redis:// or rediss:// (got ${url.protocol}//)`);
    }
    const client = new Redis(opts.url, {
      lazyConnect: true,
      // Governance must not queue a call behind a dead connection: fail fast, decide (fail closed), recover on reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: opts.commandTimeoutMs,
      connectTimeout: Math.max(1_000, 4 * opts.commandTimeoutMs),
      // How long a closing connection may linger (default 2 s keeps a dead socket's timer alive).
      disconnectTimeout: opts.commandTimeoutMs,
      retryStrategy: (times: number) => Math.min(100 * times, 1_000),
    });
    let lastError: string | undefined;
    client.on('error', (error: Error) => {
      lastError = error.message;
      opts.onError(error);
    });
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      // connect() only says "Connection is closed."; the error event has the cause (ECONNREFUSED, ENOTFOUND …).
      const detail = lastError ?? (error instanceof Error ? error.message : String(error));
      throw new RateLimitStoreError(
        `cannot connect to Redis at ${redactRedisUrl(opts.url)} (redis.url): ${detail}; ` +
          'start Redis or remove redis.url to use in-process limits',
        { cause: error },
      );
    }
    return new RedisCounterStore(client, opts.url);
  }

  private notReady(): RateLimitStoreError {
    const cause = this.lastError ? `: ${this.lastError}` : '';
    return toStoreError(new Error(`connection is ${this.client.status}${cause}`), this.label);
  }

  increment(key: string, ttlMs: number): Promise<number> {
    if (!this.isReady()) return Promise.reject(this.notReady());
    return consumeCount(this.limiter, key, seconds(ttlMs), this.label);
  }

  async decrement(key: string, ttlMs: number): Promise<void> {
    try {
      await this.limiter.reward(key, 1, { customDuration: seconds(ttlMs) });
    } catch (error) {
      throw toStoreError(error, this.label);
    }
  }

  async read(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    if (!this.isReady()) throw this.notReady();
    try {
      // One MGET for the closed sub-windows (RLF's get would cost a MULTI per key).
      const values = await this.client.mget(...keys.map((k) => this.limiter.getKey(k)));
      return values.map((v) => (v === null ? 0 : Math.max(0, Number.parseInt(v, 10) || 0)));
    } catch (error) {
      throw toStoreError(error, this.label);
    }
  }

  isReady(): boolean {
    return this.client.status === 'ready';
  }

  whenReady(): Promise<void> {
    if (this.isReady()) return Promise.resolve();
    return new Promise((resolve) => this.client.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }
}
