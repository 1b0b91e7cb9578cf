import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type AuditEventRow } from '../audit-event.entity.js';

/** What the writer thread returns per stored event: id, seq, hash, prevHash. */
export type StoredLink = [string, number, string, string];

interface Pending {
  resolve(links: StoredLink[]): void;
  reject(error: Error): void;
}

/**
 * better-sqlite3 is synchronous: its COMMIT (an fsync with synchronous=FULL) and the batch's inserts would block
 * the gateway's event loop. This runs them on a worker thread with its own connection; the main thread only
 * validates, queues and awaits. Only from the compiled package: under the test runner (sources) there is no
 * compiled worker script, and the store writes in-thread instead.
 */
export class SqliteWriterThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (msg: { id: number; links?: StoredLink[]; error?: { message: string; code?: string } }) => {
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.links) waiter.resolve(msg.links);
      else
        waiter.reject(
          Object.assign(new Error(msg.error?.message ?? 'the writer thread failed'), { code: msg.error?.code }),
        );
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the audit writer thread exited (code ${code})`)));
  }

  static start(opts: { path: string; timeoutMs: number }): SqliteWriterThread | undefined {
    const script = new URL('./sqlite-writer.worker.js', import.meta.url);
    if (script.protocol !== 'file:' || !existsSync(fileURLToPath(script))) return undefined;
    // A worker inherits the process's flags unless told otherwise, and refuses some of them (`--input-type`,
    // `--expose-gc`...): the writer script needs none, so it gets none. If the thread cannot start at all, the
    // store writes in-thread (slower for the event loop, same durability).
    try {
      return new SqliteWriterThread(new Worker(script, { workerData: opts, execArgv: [] }));
    } catch {
      return undefined;
    }
  }

  append(rows: AuditEventRow[]): Promise<StoredLink[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<StoredLink[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rows });
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the store is closed');
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
