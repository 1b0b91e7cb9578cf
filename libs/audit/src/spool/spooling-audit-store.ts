import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { appendFile, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type AuditEventInput } from '../audit-event.js';
import { type AuditRedactor } from '../audit-hooks.js';
import { AuditEventInvalidError, AuditStoreUnavailableError, describeCause } from '../audit-store.errors.js';
import { type AuditStore } from '../audit-store.service.js';
import { type AuditHealth, overallOk } from '../audit-health.js';

export interface SpoolingAuditStoreOptions {
  /** Append-only spool file, e.g. `<dataDir>/audit-spool.jsonl` (created 0600). */
  spoolPath: string;
  /** Applied before an event is spooled, so PII never reaches the spool file (the store redacts again on replay). */
  redactor?: AuditRedactor;
  /** 32-byte key: each spooled line is sealed with AES-256-GCM (use when audit encryption is on). */
  spoolKey?: Buffer;
  /** How often the database is pinged while degraded (default 1000 ms). */
  pingIntervalMs?: number;
  /** Told when the store starts spooling and when the spool has been replayed. */
  onStateChange?: (degraded: boolean, detail: string) => void;
}

const REPLAY_CHUNK = 500;
const MAX_BACKOFF_MS = 30_000;

/** What the spool adds to the store it decorates. */
export interface SpoolControl {
  /** True while events go to the spool instead of the database (down, or spool not yet replayed). */
  isDegraded(): boolean;
  /** Throws the AuditStoreUnavailableError a governed call should fail closed with while degraded. */
  assertAvailable(): void;
  /** Events spooled by this process and not yet replayed. */
  spooled(): number;
  /** Resolves when the spool is replayed and events go to the database again. */
  drained(): Promise<void>;
}

/** An AuditStore decorated with a local spool: every other method is the inner store's. */
export type SpoolingAuditStore<S extends AuditStore = AuditStore> = S & SpoolControl;

/**
 * Decorates `inner` (append and close go through the spool; every other method, including ones added to the
 * store later, is forwarded unchanged). A spool left by an earlier run starts the store degraded and is replayed
 * first.
 */
export function withAuditSpool<S extends AuditStore>(inner: S, opts: SpoolingAuditStoreOptions): SpoolingAuditStore<S> {
  const spool = AuditSpool.open(inner, opts);
  const own: Record<string | symbol, unknown> = {
    append: (event: AuditEventInput) => spool.append(event),
    close: () => spool.close(),
    isDegraded: () => spool.isDegraded(),
    assertAvailable: () => spool.assertAvailable(),
    spooled: () => spool.spooled(),
    drained: () => spool.drained(),
    health: (): AuditHealth => {
      const { ok: _innerOk, ...parts } = inner.health();
      const withSpool = { ...parts, spool: spool.health() };
      return { ok: overallOk(withSpool), ...withSpool };
    },
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.hasOwn(own, prop)) return own[prop];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as SpoolingAuditStore<S>;
}

/**
 * "Nothing lost" for the fast path: while the audit database is unavailable, events are appended to a local spool
 * file (written and fdatasync'd before `append` resolves, many events per sync), and a ping loop replays them in
 * order once the database answers again, then truncates the spool. Replays are idempotent (every event has its id
 * before the first attempt), so a crash mid-replay only replays again.
 *
 * While degraded (database down or spool not yet replayed) `isDegraded()` is true: governed operations must refuse
 * (`assertAvailable()` throws AuditStoreUnavailableError) rather than run on an audit trail that cannot take them.
 */
class AuditSpool implements SpoolControl {
  private degraded = false;
  private reason = '';
  private queue: Array<{ line: string; done: (error?: Error) => void }> = [];
  private flushing: Promise<void> | undefined;
  private replaying: Promise<void> | undefined;
  private file: FileHandle | undefined;
  private offset = 0;
  private pending = 0;
  private closed = false;
  private backoffMs = 0;
  private retryAt = 0;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly inner: AuditStore,
    private readonly opts: SpoolingAuditStoreOptions,
  ) {
    this.timer = setInterval(() => this.tick(), opts.pingIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Wraps `inner`; a spool left by an earlier run starts the store degraded and is replayed first. */
  static open(inner: AuditStore, opts: SpoolingAuditStoreOptions): AuditSpool {
    const store = new AuditSpool(inner, opts);
    mkdirSync(dirname(opts.spoolPath), { recursive: true, mode: 0o700 });
    if (existsSync(opts.spoolPath)) {
      const fd = openSync(opts.spoolPath, 'r');
      const size = fstatSync(fd).size;
      closeSync(fd);
      if (size > 0) {
        store.enterDegraded(`${opts.spoolPath} holds events not yet written to the database`);
        store.tick();
      }
    }
    return store;
  }

  /** True while events go to the spool instead of the database. */
  isDegraded(): boolean {
    return this.degraded;
  }

  /** Throws the error a governed call should fail closed with while the store is degraded. */
  assertAvailable(): void {
    if (!this.degraded) return;
    throw new AuditStoreUnavailableError(
      `${this.reason}; fast-path events are being spooled to ${this.opts.spoolPath}, governed operations are ` +
        'refused until the audit database is back',
    );
  }

  /** Events written to the spool and not yet replayed. */
  spooled(): number {
    return this.pending;
  }

  health(): AuditHealth['spool'] {
    return this.degraded
      ? { state: 'spooling', spooled: this.pending, reason: this.reason }
      : { state: 'idle', spooled: this.pending };
  }

  async append(input: AuditEventInput): Promise<void> {
    if (this.closed) throw new AuditStoreUnavailableError('the store is closed');
    // The id is fixed before the first attempt: if the database took the event but the reply was lost, the
    // replay of the spooled copy is then a duplicate the store ignores.
    const event: AuditEventInput = input.id ? input : { ...input, id: randomUUID() };
    if (!this.degraded) {
      try {
        await this.inner.append(event);
        return;
      } catch (error) {
        if (!(error instanceof AuditStoreUnavailableError) || this.closed) throw error;
        this.enterDegraded(error.message);
      }
    }
    await this.spool(event);
  }

  /** Writes what is queued to the spool (left for the next start if not replayed), then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.replaying?.catch(() => undefined);
    while (this.flushing) await this.flushing;
    await this.file?.close();
    this.file = undefined;
    await this.inner.close();
  }

  /** Resolves when the spool is replayed and the store writes to the database again (for tests and shutdown). */
  async drained(): Promise<void> {
    while (this.degraded && !this.closed) {
      await new Promise<void>((resolve) => setTimeout(resolve, 50));
    }
  }

  private enterDegraded(reason: string): void {
    this.reason = reason;
    if (this.degraded) return;
    this.degraded = true;
    this.opts.onStateChange?.(true, reason);
  }

  private spool(event: AuditEventInput): Promise<void> {
    let line = JSON.stringify(this.redacted(event));
    if (this.opts.spoolKey) line = sealLine(this.opts.spoolKey, line);
    this.pending += 1;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line: `${line}\n`, done: (error) => (error ? reject(error) : resolve()) });
      this.flushing ??= this.flush();
    });
  }

  /** One write and one fdatasync for every line queued meanwhile (group commit, as the store does). */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          this.file ??= await open(this.opts.spoolPath, 'a', 0o600);
          await this.file.write(batch.map((b) => b.line).join(''));
          await this.file.datasync();
          for (const b of batch) b.done();
        } catch (cause) {
          this.pending -= batch.length;
          const error = new AuditStoreUnavailableError(
            `the audit database is unavailable and the spool ${this.opts.spoolPath} cannot be written: ` +
              describeCause(cause),
            { cause },
          );
          for (const b of batch) b.done(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private redacted(event: AuditEventInput): AuditEventInput {
    const redactor = this.opts.redactor;
    if (!redactor) return event;
    const copy: AuditEventInput = { ...event };
    const kinds = new Set<string>();
    for (const field of ['argsSummary', 'resultSummary', 'errorMessage'] as const) {
      const value = copy[field];
      if (value === undefined) continue;
      const r = redactor.redact(value);
      copy[field] = r.text;
      for (const k of r.kinds) kinds.add(k);
    }
    if (kinds.size > 0) copy.notes = [...(copy.notes ?? []), `pii redacted: ${[...kinds].sort().join(', ')}`];
    return copy;
  }

  private tick(): void {
    if (!this.degraded || this.replaying || this.closed || Date.now() < this.retryAt) return;
    this.replaying = this.inner
      .ping()
      .then(
        async () => {
          await this.replay();
          if (this.degraded) this.backOff();
          else this.backoffMs = 0;
        },
        // Still down: try again at the next tick (a refused connection costs nothing).
        () => undefined,
      )
      .catch(() => this.backOff())
      .finally(() => {
        this.replaying = undefined;
      });
  }

  /**
   * Replays that fail although the ping answered are retried less and less often (up to every 30 s): a SQLite file
   * locked by another process answers the ping but blocks each write attempt for the busy timeout, synchronously.
   */
  private backOff(): void {
    const base = this.opts.pingIntervalMs ?? 1000;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs === 0 ? base : this.backoffMs * 2);
    this.retryAt = Date.now() + this.backoffMs;
  }

  /** Replays the spool from `offset` in order; switches back to the database once it has caught up. */
  private async replay(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      if (this.flushing) await this.flushing;
      const { lines, torn } = this.readFrom(this.offset);
      if (lines.length === 0) {
        if (this.queue.length > 0 || this.flushing) continue;
        // Caught up, and nothing is being written: switch back within this one tick, so no append can slip in
        // between. A torn last line (a crash mid-write) belonged to an append that never resolved.
        if (torn) this.opts.onStateChange?.(true, `dropped a torn last line of ${this.opts.spoolPath}`);
        if (this.file) ftruncateSync(this.file.fd, 0);
        else if (existsSync(this.opts.spoolPath)) {
          const fd = openSync(this.opts.spoolPath, 'r+');
          ftruncateSync(fd, 0);
          closeSync(fd);
        }
        const replayed = this.offset;
        this.offset = 0;
        this.pending = 0;
        this.degraded = false;
        this.opts.onStateChange?.(false, `spool replayed (${replayed} bytes); writing to the database again`);
        return;
      }
      for (let i = 0; i < lines.length; i += REPLAY_CHUNK) {
        const chunk = lines.slice(i, i + REPLAY_CHUNK);
        // Submitted together, in file order: the store's group commit writes them in that order.
        const results = await Promise.allSettled(chunk.map((l) => this.replayLine(l.text)));
        const down = results.find(
          (r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof AuditStoreUnavailableError,
        );
        if (down) {
          this.reason = (down.reason as Error).message;
          return; // still degraded; the next tick resumes from this chunk (duplicates are ignored by id)
        }
        this.offset += chunk.reduce((n, l) => n + l.bytes, 0);
        this.pending = Math.max(0, this.pending - chunk.length);
      }
    }
  }

  private async replayLine(text: string): Promise<void> {
    let event: AuditEventInput;
    try {
      const json = this.opts.spoolKey ? openLine(this.opts.spoolKey, text) : text;
      const parsed = JSON.parse(json) as AuditEventInput & { time: string };
      event = { ...parsed, time: new Date(parsed.time) };
    } catch (error) {
      await this.reject(text, `unreadable spool line: ${(error as Error).message}`);
      return;
    }
    try {
      await this.inner.append(event);
    } catch (error) {
      if (error instanceof AuditEventInvalidError) await this.reject(text, error.message);
      else throw error;
    }
  }

  /** A line the database will never take is kept aside (never silently dropped) and replay goes on. */
  private async reject(line: string, why: string): Promise<void> {
    await appendFile(`${this.opts.spoolPath}.rejected`, `${JSON.stringify({ why, line })}\n`, { mode: 0o600 });
  }

  private readFrom(offset: number): { lines: Array<{ text: string; bytes: number }>; bytes: number; torn: boolean } {
    if (!existsSync(this.opts.spoolPath)) return { lines: [], bytes: 0, torn: false };
    const fd = openSync(this.opts.spoolPath, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size - offset, 8 * 1024 * 1024);
      if (length <= 0) return { lines: [], bytes: 0, torn: false };
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, offset);
      const lines: Array<{ text: string; bytes: number }> = [];
      let start = 0;
      for (let nl = buffer.indexOf(10, start); nl >= 0; nl = buffer.indexOf(10, start)) {
        lines.push({ text: buffer.subarray(start, nl).toString('utf8'), bytes: nl + 1 - start });
        start = nl + 1;
      }
      return { lines, bytes: start, torn: start < length && lines.length === 0 };
    } finally {
      closeSync(fd);
    }
  }
}

function sealLine(key: Buffer, line: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(line, 'utf8'), cipher.final()]);
  return `sealed:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

function openLine(key: Buffer, text: string): string {
  if (!text.startsWith('sealed:')) throw new Error('line is not sealed but a spool key is configured');
  const raw = Buffer.from(text.slice('sealed:'.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}
