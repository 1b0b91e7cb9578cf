// Values read at scrape time from a shared store (Temporal visibility, the quota database), so every gateway process
// reports the same truth instead of its own share. A short cache keeps a scrape storm (several Prometheus servers,
// `atom-gov metrics` in a loop) from hammering the store; a bounded wait keeps a slow store from failing the scrape.

export interface ScrapeFeedOptions {
  /** How long a read (or a failure) is reused; default 5000 ms. */
  cacheMs?: number;
  /** Longest wait for a read; past it the value counts as unavailable this time; default 2000 ms. */
  timeoutMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

export type FeedResult<T> = { ok: true; value: T } | { ok: false; error: Error };

/** One cached, single-flight, time-bounded read. */
export class ScrapeFeed<T> {
  private readonly cacheMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private last: { at: number; result: FeedResult<T> } | undefined;
  private inFlight: Promise<FeedResult<T>> | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly onFailure: (error: Error) => void,
    opts: ScrapeFeedOptions = {},
  ) {
    this.cacheMs = opts.cacheMs ?? 5_000;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.now = opts.now ?? Date.now;
  }

  get(): Promise<FeedResult<T>> {
    if (this.last && this.now() - this.last.at < this.cacheMs) return Promise.resolve(this.last.result);
    this.inFlight ??= this.fetch().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async fetch(): Promise<FeedResult<T>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    let result: FeedResult<T>;
    try {
      result = { ok: true, value: await Promise.race([this.read(), timeout]) };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      this.onFailure(e);
      result = { ok: false, error: e };
    } finally {
      clearTimeout(timer);
    }
    this.last = { at: this.now(), result };
    return result;
  }
}

/** Governed operations waiting for approval, per tenant and server (a Temporal visibility count). */
export interface PendingApprovalsSample {
  tenant: string;
  server: string;
  count: number;
}

/** One quota counter's current period: used of limit (several counters of a tenant may share a resource). */
export interface QuotaUsageSample {
  tenant: string;
  resource: string;
  used: number;
  limit: number;
}

/**
 * The part of the audit store's health (`AuditStore.health()` in @atom-gov/audit) the metrics read; structural, so
 * this library does not depend on the audit library.
 */
export interface AuditHealthView {
  ok: boolean;
  writer: { queued: number; inFlight: number; lagMs: number; failedBatches: number };
  checkpoints: { enabled: boolean; lastAt?: string; failures: number };
  trailFile: { enabled: boolean; failures: number };
  spool: { state: 'off' | 'idle' | 'spooling'; spooled: number };
}
