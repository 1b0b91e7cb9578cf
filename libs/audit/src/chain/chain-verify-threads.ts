import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type RangeSummary, type RangeTask, type ScanTask } from './chain-range.js';

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * A small pool of verification threads over one SQLite file, for the length of one verify() call: ranges are
 * hashed on as many cores as there are threads while the main thread only joins their summaries. Only from the
 * compiled package (under the test runner there is no compiled worker script: ranges are then checked in-thread).
 */
export class ChainVerifyThreads {
  private readonly pending = new Map<number, Pending>();
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ id: number; task?: RangeTask; scan?: ScanTask }> = [];
  private readonly busy = new Map<Worker, number>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
        const waiter = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        this.busy.delete(worker);
        this.idle.push(worker);
        this.pump();
        if (!waiter) return;
        if (msg.result !== undefined) waiter.resolve(msg.result);
        else waiter.reject(new Error(msg.error ?? 'a verification thread failed'));
      });
      const fail = (error: Error) => {
        this.failure ??= error;
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`a verification thread exited (code ${code})`)));
    }
    this.idle.push(...workers);
  }

  /** Undefined when threads are not available here (no compiled script, or a thread cannot start). */
  static start(opts: { path: string; timeoutMs: number; threads: number }): ChainVerifyThreads | undefined {
    if (opts.threads < 1 || opts.path === '' || opts.path === ':memory:') return undefined;
    const script = new URL('./chain-verify.worker.js', import.meta.url);
    if (script.protocol !== 'file:' || !existsSync(fileURLToPath(script))) return undefined;
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < opts.threads; i += 1) {
        // No inherited execArgv: workers refuse some process flags (--expose-gc ...) and need none.
        workers.push(new Worker(script, { workerData: { path: opts.path, timeoutMs: opts.timeoutMs }, execArgv: [] }));
      }
    } catch {
      for (const w of workers) void w.terminate();
      return undefined;
    }
    return new ChainVerifyThreads(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  check(task: RangeTask): Promise<RangeSummary> {
    return this.send<RangeSummary>({ task });
  }

  scan(scan: ScanTask): Promise<Array<[string, RangeSummary]>> {
    return this.send<Array<[string, RangeSummary]>>({ scan });
  }

  private send<R>(message: { task?: RangeTask; scan?: ScanTask }): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.queue.push({ id, ...message });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the verification threads are closed');
    await Promise.all(
      this.workers.map((w) => {
        w.removeAllListeners('exit');
        return w.terminate();
      }),
    );
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const message = this.queue.shift()!;
      this.busy.set(worker, message.id);
      worker.postMessage(message);
    }
  }
}
