/** Caller identity parts a limit can be keyed on. Canonical order: tenant, user, server, tool. */
export type RateLimitDimension = 'tenant' | 'user' | 'server' | 'tool';

/** As config writes it: `per: user`, `per: [user, tool]`, `per: global`. */
export type RateLimitPer = RateLimitDimension | 'global' | readonly RateLimitDimension[];

export type RateLimitWindow = 'sliding' | 'fixed';

/** hard denies over the limit; soft and warn allow but report the hit (alert / audit as a would-be denial). */
export type RateLimitEnforcement = 'hard' | 'soft' | 'warn';

/** A limit as it arrives from the parsed config (`100/hour` is {limit: 100, periodMs: PERIOD_MS.hour}). */
export interface RateLimitSpec {
  /** Policy (rule) name: part of the counter key, so two policies never share counters. */
  name: string;
  limit: number;
  periodMs: number;
  window: RateLimitWindow;
  /** At most `burst` calls in any interval of periodMs * burst / limit (1 <= burst <= limit; 0 or absent: none). */
  burst?: number;
  /** Key parts: one (`'user'`), a combination (`['tenant', 'tool']`), or `'global'` / `[]` for one shared counter. */
  per: RateLimitPer;
  enforcement: RateLimitEnforcement;
  /** Allow calls while the counter store is unavailable (default false: fail closed). */
  failOpen?: boolean;
}

export interface RateLimitContext {
  tenant: string;
  user: string;
  server: string;
  /** Tool, resource or prompt name; absent for methods without one. */
  tool?: string;
}

export type RateLimitCode = 'rate_limited' | 'store_unavailable';

export interface RateLimitResult {
  /** Whether the call may proceed (soft/warn always true; hard false on a hit or, unless failOpen, a store outage). */
  allowed: boolean;
  /** Calls still admitted now (the tighter of limit and burst); 0 on a hit. */
  remaining: number;
  /** On a hit: time until a call would be admitted again, assuming no other calls. 0 otherwise. */
  retryAfterMs: number;
  /** The limit (or burst) was exceeded; for soft/warn this is the would-be denial to alert on. */
  limitHit: boolean;
  enforcement: RateLimitEnforcement;
  /** Set when limitHit or the store failed. */
  code?: RateLimitCode;
  /** Human message for a hit or a store failure: "rate limit 100/hour per user exceeded; retry after 12 min". */
  message?: string;
  /** The counter key (without window suffix): for audit and debugging. */
  key: string;
}

export interface RateLimitServiceOptions {
  /** redis://… shared by all gateway processes; absent => in-process memory counters. */
  redisUrl?: string;
  /** Sub-windows per sliding period (default 10): sliding limits are conservative by at most periodMs / buckets. */
  buckets?: number;
  /** Milliseconds since the epoch (default Date.now, so Jest fake timers apply). */
  clock?: () => number;
  /** Redis command timeout in ms (default 500): a hung or unreachable Redis is detected this fast. */
  commandTimeoutMs?: number;
  /** Counter key prefix (default "atom-gov:rl"). */
  keyPrefix?: string;
  /** Called with store errors (e.g. to log them); never throws into check(). */
  onStoreError?: (error: Error) => void;
}
