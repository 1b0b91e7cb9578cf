interface Waiter<T> {
  item: T;
  /** performance.now() at submit: the write lag is the age of the oldest waiter. */
  at: number;
  resolve(): void;
  reject(error: Error): void;
}

export interface GroupCommitStats {
  /** Items written successfully. */
  committed: number;
  /** Write calls (transactions) that succeeded. */
  batches: number;
  /** Write calls that failed; each rejected all of its waiters. */
  failedBatches: number;
  /** Largest number of items written by one call. */
  largestBatch: number;
  /** Sum over committed items of the time (ms) from submit to the start of their write (queueing behind a write). */
  waitMs: number;
  /** Sum over successful write calls of their duration (ms): the transaction, its fsync and any thread hop. */
  writeMs: number;
}

/** What is not yet durable, for health reporting. */
export interface GroupCommitBacklog {
  queued: number;
  inFlight: number;
  /** Age in ms of the oldest item not yet written (0 when none). */
  lagMs: number;
  /** Submit-to-durable time in ms of the oldest item of the last successful write. */
  lastCommitLagMs?: number;
  lastCommitAt?: string;
  /** The last failed write's error (cleared by the next successful write). */
  lastError?: { message: string; at: string };
}

/**
 * Group commit: items submitted while a write is in flight (or in the same turn of the event loop) are written
 * together by the next single `write` call, and each submitter's promise settles with that call's result. There is
 * no timer: the window is the previous write's duration, so a lone item goes out at once and a burst shares one
 * transaction.
 */
export class GroupCommitter<T> {
  private queue: Array<Waiter<T>> = [];
  private inFlight: Array<Waiter<T>> = [];
  private lastCommit: { lagMs: number; at: string } | undefined;
  private lastError: { message: string; at: string } | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly counters: GroupCommitStats = {
    committed: 0,
    batches: 0,
    failedBatches: 0,
    largestBatch: 0,
    waitMs: 0,
    writeMs: 0,
  };

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly toError: (cause: unknown) => Error,
    private readonly maxBatch: number,
  ) {}

  submit(item: T): Promise<void> {
    if (this.closed) return Promise.reject(this.toError(new Error('the store is closed')));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, at: performance.now(), resolve, reject });
      this.draining ??= this.drain();
    });
  }

  stats(): GroupCommitStats {
    return { ...this.counters };
  }

  backlog(): GroupCommitBacklog {
    const oldest = this.inFlight[0] ?? this.queue[0];
    return {
      queued: this.queue.length,
      inFlight: this.inFlight.length,
      lagMs: oldest ? performance.now() - oldest.at : 0,
      ...(this.lastCommit ? { lastCommitLagMs: this.lastCommit.lagMs, lastCommitAt: this.lastCommit.at } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Resolves once everything submitted so far has been written (or rejected). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Refuses new items and resolves once everything already submitted has been written (or rejected). */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  private async drain(): Promise<void> {
    // Let the rest of the current turn submit too, so a synchronous burst becomes one batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight = batch;
      const started = performance.now();
      try {
        await this.write(batch.map((w) => w.item));
        const now = performance.now();
        this.lastCommit = { lagMs: now - batch[0]!.at, at: new Date().toISOString() };
        this.counters.writeMs += now - started;
        for (const w of batch) this.counters.waitMs += started - w.at;
        this.lastError = undefined;
        this.counters.batches += 1;
        this.counters.committed += batch.length;
        this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
        for (const w of batch) w.resolve();
      } catch (cause) {
        this.counters.failedBatches += 1;
        const error = this.toError(cause);
        this.lastError = { message: error.message, at: new Date().toISOString() };
        for (const w of batch) w.reject(error);
      } finally {
        this.inFlight = [];
      }
    }
    this.draining = undefined;
  }
}
