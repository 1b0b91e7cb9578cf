interface Waiter<T> {
  item: T;
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
}

/**
 * Group commit: items submitted while a write is in flight (or in the same turn of the event loop) are written
 * together by the next single `write` call, and each submitter's promise settles with that call's result. There is
 * no timer: the window is the previous write's duration, so a lone item goes out at once and a burst shares one
 * transaction.
 */
export class GroupCommitter<T> {
  private queue: Array<Waiter<T>> = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly counters: GroupCommitStats = { committed: 0, batches: 0, failedBatches: 0, largestBatch: 0 };

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly toError: (cause: unknown) => Error,
    private readonly maxBatch: number,
  ) {}

  submit(item: T): Promise<void> {
    if (this.closed) return Promise.reject(this.toError(new Error('the store is closed')));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  stats(): GroupCommitStats {
    return { ...this.counters };
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
      try {
        await this.write(batch.map((w) => w.item));
        this.counters.batches += 1;
        this.counters.committed += batch.length;
        this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
        for (const w of batch) w.resolve();
      } catch (cause) {
        this.counters.failedBatches += 1;
        const error = this.toError(cause);
        for (const w of batch) w.reject(error);
      }
    }
    this.draining = undefined;
  }
}
