import { MemoryCounterStore, RedisCounterStore, type CounterStore } from './counter.store.js';
import { compileSpec, counterKey, type CompiledSpec, type CounterSpec } from './rate-limit.compile.js';
import { RateLimitStoreError } from './rate-limit.errors.js';
import { formatLimit, formatPer, rateLimitExceededMessage } from './rate-limit.message.js';
import type { RateLimitContext, RateLimitResult, RateLimitServiceOptions, RateLimitSpec } from './rate-limit.types.js';

const DEFAULT_BUCKETS = 10;
const DEFAULT_COMMAND_TIMEOUT_MS = 500;
const DEFAULT_PREFIX = 'atom-gov:rl';
// Fixed windows start at a Monday 00:00 UTC (1970-01-05), so minute/hour/day windows start on the clock's
// boundaries and weekly windows on Mondays.
const FIXED_ORIGIN_MS = 4 * 24 * 60 * 60 * 1000;

/** Marks an absent tool in the key tree (no string equals it). */
const NO_TOOL = Symbol('no tool');
const LEAF = Symbol('key');
type KeyNode = Map<string | symbol, KeyNode | string>;
/** Callers remembered in the key tree before it starts over (it only saves string building). */
const KEY_CACHE_LIMIT = 100_000;

/** The last sliding-window bucket key built for a counter: reused while the bucket lasts. */
interface BucketKeys {
  width: number;
  base: string;
  index: number;
  current: string;
}

interface CounterOutcome {
  counter: CounterSpec;
  admitted: boolean;
  remaining: number;
  retryAfterMs: number;
  /** The key that was incremented, to give the point back when the call is not admitted. */
  incremented: { key: string; ttlMs: number };
}

/**
 * Checks calls against rate limits. One instance per gateway process; with a Redis URL all processes share
 * the counters. check() never throws for store trouble: it answers per the spec's failOpen.
 */
export class RateLimitService {
  private readonly buckets: number;
  private readonly clock: () => number;
  private readonly prefix: string;
  private readonly onStoreError: (error: Error) => void;
  /** Memory backend: counts of the closed buckets of each sliding counter, for the current bucket index. */
  private readonly closedBuckets = new Map<string, { index: number; counts: number[] }>();
  /**
   * Counter keys by spec and caller, as a tree over the key's dimensions: the same key string comes back for the
   * same caller, so it is not rebuilt (escaped, concatenated, hashed again by every Map lookup) on each call.
   */
  private keyTree = new WeakMap<CompiledSpec, KeyNode>();
  private keyCount = 0;
  /** Bucket keys per counter key and counter ('m' main, 'b' burst). */
  private readonly bucketKeys = new Map<string, { m?: BucketKeys; b?: BucketKeys }>();

  private constructor(
    private readonly store: CounterStore,
    opts: RateLimitServiceOptions,
  ) {
    this.buckets = opts.buckets ?? DEFAULT_BUCKETS;
    this.clock = opts.clock ?? (() => Date.now());
    this.prefix = opts.keyPrefix ?? DEFAULT_PREFIX;
    this.onStoreError = opts.onStoreError ?? (() => undefined);
  }

  /** Memory counters, or Redis when `redisUrl` is set (throws RateLimitStoreError if Redis is unreachable). */
  static async create(opts: RateLimitServiceOptions = {}): Promise<RateLimitService> {
    const buckets = opts.buckets ?? DEFAULT_BUCKETS;
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1000) {
      throw new RangeError(`buckets must be a whole number from 1 to 1000 (got ${String(opts.buckets)})`);
    }
    const clock = opts.clock ?? (() => Date.now());
    const store: CounterStore = opts.redisUrl
      ? await RedisCounterStore.connect({
          url: opts.redisUrl,
          commandTimeoutMs: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
          onError: opts.onStoreError ?? (() => undefined),
        })
      : new MemoryCounterStore(clock);
    return new RateLimitService(store, opts);
  }

  get backend(): 'memory' | 'redis' {
    return this.store.backend;
  }

  /** For health checks: can the counter store answer now? */
  isStoreReady(): boolean {
    return this.store.isReady();
  }

  /** Resolves once the counter store can answer (after a Redis reconnect, for example). */
  whenStoreReady(): Promise<void> {
    return this.store.whenReady();
  }

  /** Counts this call against the spec for the caller and decides. Throws RateLimitSpecError for a bad spec. */
  async check(spec: RateLimitSpec, ctx: RateLimitContext): Promise<RateLimitResult> {
    const compiled = compileSpec(spec);
    const key = this.counterKeyOf(compiled, ctx);
    const now = this.clock();
    const main = this.evaluate(compiled.main, key, now);
    const burst = compiled.burst ? this.evaluate(compiled.burst, key, now) : undefined;
    // The common case (every counter answered, the call admitted) without allSettled's per-counter records.
    const fast = await (burst ? Promise.all([main, burst]) : main.then((o) => [o])).catch(() => undefined);
    if (fast && fast.every((o) => o.admitted)) {
      let remaining = fast[0]!.remaining;
      if (fast[1] && fast[1].remaining < remaining) remaining = fast[1].remaining;
      return { allowed: true, remaining, retryAfterMs: 0, limitHit: false, enforcement: spec.enforcement, key };
    }
    const settled = await Promise.allSettled(burst ? [main, burst] : [main]);

    const outcomes: CounterOutcome[] = [];
    let failure: unknown;
    for (const s of settled) {
      if (s.status === 'fulfilled') outcomes.push(s.value);
      else failure ??= s.reason;
    }
    const admitted = failure === undefined && outcomes.every((o) => o.admitted);
    if (!admitted) {
      // A call that is not admitted must not use up the limit: give back every point this call took.
      await Promise.all(
        outcomes.map((o) =>
          this.store.decrement(o.incremented.key, o.incremented.ttlMs).catch((error: unknown) => this.report(error)),
        ),
      );
    }
    if (failure !== undefined) return this.storeFailure(spec, key, failure);

    if (admitted) {
      return {
        allowed: true,
        remaining: Math.min(...outcomes.map((o) => o.remaining)),
        retryAfterMs: 0,
        limitHit: false,
        enforcement: spec.enforcement,
        key,
      };
    }
    // Report the denial that lasts longest: that is when the call would be admitted again.
    const denied = outcomes.filter((o) => !o.admitted).sort((a, b) => b.retryAfterMs - a.retryAfterMs)[0]!;
    const retryAfterMs = denied.retryAfterMs;
    const message = rateLimitExceededMessage({
      limit: spec.limit,
      periodMs: spec.periodMs,
      per: compiled.per,
      retryAfterMs,
      ...(denied.counter.kind === 'b'
        ? { burst: { burst: denied.counter.limit, intervalMs: denied.counter.periodMs } }
        : {}),
    });
    return {
      allowed: spec.enforcement !== 'hard',
      remaining: 0,
      retryAfterMs,
      limitHit: true,
      enforcement: spec.enforcement,
      code: 'rate_limited',
      message,
      key,
    };
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private evaluate(counter: CounterSpec, key: string, now: number): Promise<CounterOutcome> {
    return counter.window === 'sliding' ? this.sliding(counter, key, now) : this.fixed(counter, key, now);
  }

  /**
   * Sliding window from k fixed sub-windows ("buckets") of width w = ceil(period / k), keyed by bucket index:
   * a call increments the current bucket and is admitted when that count plus the k previous buckets (closed,
   * so no longer growing) is within the limit. Any window of length `period` ending now lies inside those
   * k+1 buckets, so no such window ever admits more than the limit, across processes too; the price is a
   * conservative overshoot of at most w (a call may be refused up to period/k before a perfect log would
   * admit it). The bucket index is in the key, so correctness never depends on TTL expiry (TTL only cleans up).
   * Processes sharing Redis take the bucket index from their own clocks: they must agree to well within a bucket.
   */
  private async sliding(counter: CounterSpec, key: string, now: number): Promise<CounterOutcome> {
    const k = this.buckets;
    const width = Math.ceil(counter.periodMs / k);
    const index = Math.floor(now / width);
    const { base, current: currentKey } = this.bucketKeysOf(key, counter, width, index);
    const ttlMs = (k + 2) * width;
    // In memory the closed buckets are usually known already: then only the increment waits.
    const known = this.knownBuckets(base, index);
    const [current, previous] = known
      ? [await this.store.increment(currentKey, ttlMs), known]
      : await Promise.all([this.store.increment(currentKey, ttlMs), this.previousBuckets(base, index, k)]);
    const total = previous.reduce((sum, n) => sum + n, current);
    const incremented = { key: currentKey, ttlMs };
    if (total <= counter.limit) {
      return { counter, admitted: true, remaining: counter.limit - total, retryAfterMs: 0, incremented };
    }
    // Buckets leave the counted range oldest first: bucket (index - k + j) drops out when bucket
    // (index + 1 + j) begins. Retry when enough calls have dropped out for one more to fit.
    const counts = [...previous, current];
    const excess = total - counter.limit;
    let dropped = 0;
    let j = 0;
    for (; j < counts.length; j++) {
      dropped += counts[j]!;
      if (dropped >= excess) break;
    }
    const retryAt = (index + 1 + j) * width;
    return { counter, admitted: false, remaining: 0, retryAfterMs: Math.max(1, retryAt - now), incremented };
  }

  /**
   * The k closed buckets before `index`. In memory (one process) they no longer change, so their counts are read
   * once per bucket and reused until the window moves on; the only later change is a denied call giving its point
   * back to a bucket that has just closed, which leaves the cached sum one high: conservative, never admitting more
   * than the limit. With Redis other processes (and clocks) write them, so they are always read.
   */
  private async previousBuckets(base: string, index: number, k: number): Promise<number[]> {
    const known = this.knownBuckets(base, index);
    if (known) return known;
    const counts = await this.store.read(Array.from({ length: k }, (_, i) => `${base}:${index - k + i}`));
    if (this.store.backend === 'memory') {
      const hit = this.closedBuckets.get(base);
      // Only ever move forward (a slow read must not replace a newer bucket's counts).
      if (!hit || hit.index <= index) this.closedBuckets.set(base, { index, counts });
      if (this.closedBuckets.size > 100_000) this.closedBuckets.clear();
    }
    return counts;
  }

  /** The counter key of `ctx` under `compiled` (see keyTree); equal to counterKey(prefix, compiled, ctx). */
  private counterKeyOf(compiled: CompiledSpec, ctx: RateLimitContext): string {
    let node = this.keyTree.get(compiled);
    if (!node) {
      node = new Map();
      this.keyTree.set(compiled, node);
    }
    for (const dim of compiled.per) {
      const part = ctx[dim] ?? NO_TOOL;
      let next = node.get(part) as KeyNode | undefined;
      if (!next) {
        next = new Map();
        node.set(part, next);
      }
      node = next;
    }
    let key = node.get(LEAF) as string | undefined;
    if (key === undefined) {
      key = counterKey(this.prefix, compiled, ctx);
      if (++this.keyCount > KEY_CACHE_LIMIT) {
        this.keyTree = new WeakMap();
        this.bucketKeys.clear();
        this.keyCount = 0;
      } else node.set(LEAF, key);
    }
    return key;
  }

  /** `<key>:<kind>s<width>` and `<base>:<index>`, rebuilt only when the bucket (or the width) changes. */
  private bucketKeysOf(key: string, counter: CounterSpec, width: number, index: number): BucketKeys {
    let slots = this.bucketKeys.get(key);
    if (!slots) {
      if (this.bucketKeys.size >= KEY_CACHE_LIMIT) this.bucketKeys.clear();
      slots = {};
      this.bucketKeys.set(key, slots);
    }
    let keys = slots[counter.kind];
    if (!keys || keys.width !== width) {
      const base = `${key}:${counter.kind}s${width}`;
      keys = { width, base, index, current: `${base}:${index}` };
      slots[counter.kind] = keys;
    } else if (keys.index !== index) {
      keys.index = index;
      keys.current = `${keys.base}:${index}`;
    }
    return keys;
  }

  /** The cached closed-bucket counts for `index` (memory backend only; see previousBuckets). */
  private knownBuckets(base: string, index: number): number[] | undefined {
    if (this.store.backend !== 'memory') return undefined;
    const hit = this.closedBuckets.get(base);
    return hit && hit.index === index ? hit.counts : undefined;
  }

  /** Fixed windows aligned to FIXED_ORIGIN_MS: one RLF counter per window, the window index in the key. */
  private async fixed(counter: CounterSpec, key: string, now: number): Promise<CounterOutcome> {
    const index = Math.floor((now - FIXED_ORIGIN_MS) / counter.periodMs);
    const windowKey = `${key}:${counter.kind}f${counter.periodMs}:${index}`;
    const ttlMs = counter.periodMs + 1_000;
    const count = await this.store.increment(windowKey, ttlMs);
    const incremented = { key: windowKey, ttlMs };
    if (count <= counter.limit) {
      return { counter, admitted: true, remaining: counter.limit - count, retryAfterMs: 0, incremented };
    }
    const windowEnd = FIXED_ORIGIN_MS + (index + 1) * counter.periodMs;
    return { counter, admitted: false, remaining: 0, retryAfterMs: Math.max(1, windowEnd - now), incremented };
  }

  private storeFailure(spec: RateLimitSpec, key: string, failure: unknown): RateLimitResult {
    const error =
      failure instanceof RateLimitStoreError
        ? failure
        : new RateLimitStoreError(
            `rate-limit store unavailable (${failure instanceof Error ? failure.message : String(failure)})`,
            { cause: failure },
          );
    this.report(error);
    // soft and warn never deny, an outage included; hard fails closed unless the policy says failOpen.
    const allowed = spec.failOpen === true || spec.enforcement !== 'hard';
    const limit = `${formatLimit(spec.limit, spec.periodMs)}${formatPer(compileSpec(spec).per)}`;
    return {
      allowed,
      remaining: 0,
      retryAfterMs: 0,
      limitHit: false,
      enforcement: spec.enforcement,
      code: 'store_unavailable',
      message: `rate limit ${limit} could not be checked: ${error.message}; ${allowed ? 'allowed (fail open)' : 'denied (fails closed)'}`,
      key,
    };
  }

  private report(error: unknown): void {
    try {
      this.onStoreError(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // A logging hook must never turn a decision into an exception.
    }
  }
}
