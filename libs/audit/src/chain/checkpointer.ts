import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { HealthTracker } from '../audit-health.js';
import { type ChainWriter } from './chain-writer.js';
import { type Checkpoint, type CheckpointReason, CheckpointSigner } from './checkpoint-signer.js';

export interface CheckpointOptions {
  /** PEM Ed25519 private key; generated there (mode 0600) when missing. */
  signingKeyPath: string;
  /** Also append each checkpoint as a JSON line to this file (ship it where the writer cannot rewrite it). */
  mirrorFile?: string;
  /** Checkpoint a tenant after this many new events (default 10,000). */
  everyEvents?: number;
  /** ... or after this long with new events (default 60 s). */
  everyMs?: number;
  /** ... or once appends pause this long (default 2 s). */
  idleMs?: number;
  /** Told about every checkpoint written (tests, metrics). */
  onCheckpoint?: (checkpoints: readonly Checkpoint[]) => void;
}

/**
 * Signs the chain heads of tenants that received events: periodically, after a burst of events, when appends go
 * idle and on close. Checkpoints are written outside the append transactions, from the committed heads.
 */
export class Checkpointer {
  readonly signer: CheckpointSigner;
  private readonly dirty = new Map<string, number>();
  private idleTimer: NodeJS.Timeout | undefined;
  private periodicTimer: NodeJS.Timeout | undefined;
  private writing: Promise<Checkpoint[]> = Promise.resolve([]);
  private readonly everyEvents: number;
  private readonly idleMs: number;
  private readonly everyMs: number;
  /** Checkpoint writes that failed (they are retried with the next one) and the last success, for health(). */
  readonly health = new HealthTracker();

  constructor(
    private readonly writer: ChainWriter,
    private readonly opts: CheckpointOptions,
  ) {
    this.signer = CheckpointSigner.open(opts.signingKeyPath);
    this.everyEvents = opts.everyEvents ?? 10_000;
    this.idleMs = opts.idleMs ?? 2_000;
    this.everyMs = opts.everyMs ?? 60_000;
  }

  /** Called after each committed batch with the number of new events per tenant. */
  committed(counts: ReadonlyMap<string, number>): void {
    let burst = false;
    for (const [tenant, n] of counts) {
      const total = (this.dirty.get(tenant) ?? 0) + n;
      this.dirty.set(tenant, total);
      if (total >= this.everyEvents) burst = true;
    }
    if (burst) {
      void this.checkpoint('periodic').catch(() => undefined);
      return;
    }
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => void this.checkpoint('idle').catch(() => undefined), this.idleMs);
      this.idleTimer.unref();
    }
    if (!this.periodicTimer) {
      this.periodicTimer = setTimeout(() => void this.checkpoint('periodic').catch(() => undefined), this.everyMs);
      this.periodicTimer.unref();
    }
  }

  /** Signs the heads of every tenant with new events (or of `tenants`); serialised, so heads only move forward. */
  checkpoint(reason: CheckpointReason, tenants?: readonly string[]): Promise<Checkpoint[]> {
    const run = async (): Promise<Checkpoint[]> => {
      this.clearTimers();
      const wanted = tenants ?? [...this.dirty.keys()];
      for (const t of wanted) this.dirty.delete(t);
      if (wanted.length === 0) return [];
      try {
        const checkpoints = (await this.writer.heads(wanted))
          .filter((h) => h.seq >= h.startSeq)
          .map((h) =>
            this.signer.sign({
              id: randomUUID(),
              tenant: h.tenant,
              seq: h.seq,
              hash: h.hash,
              startSeq: h.startSeq,
              startPrevHash: h.startPrevHash,
              createdAt: new Date().toISOString(),
              reason,
            }),
          );
        await this.writer.insertCheckpoints(checkpoints);
        await this.mirror(checkpoints);
        this.health.ok();
        this.opts.onCheckpoint?.(checkpoints);
        return checkpoints;
      } catch (error) {
        // Keep them dirty: the next checkpoint covers them.
        for (const t of wanted) this.dirty.set(t, this.dirty.get(t) ?? 0);
        this.health.failed(new Error(`writing a ${reason} checkpoint failed: ${(error as Error).message}`));
        throw error;
      }
    };
    this.writing = this.writing.catch(() => []).then(run);
    return this.writing;
  }

  /** Mirrors checkpoints written elsewhere (e.g. by a retention purge). */
  async mirror(checkpoints: readonly Checkpoint[]): Promise<void> {
    if (!this.opts.mirrorFile || checkpoints.length === 0) return;
    try {
      await appendFile(this.opts.mirrorFile, checkpoints.map((c) => `${JSON.stringify(c)}\n`).join(''), {
        mode: 0o600,
      });
    } catch (error) {
      throw new Error(`mirroring checkpoints to ${this.opts.mirrorFile} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** A checkpoint written outside checkpoint() (a retention purge's), for health(). */
  recorded(error?: unknown): void {
    if (error === undefined) this.health.ok();
    else this.health.failed(error);
  }

  async close(): Promise<void> {
    this.clearTimers();
    await this.checkpoint('close').catch(() => undefined);
  }

  private clearTimers(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.periodicTimer);
    this.idleTimer = undefined;
    this.periodicTimer = undefined;
  }
}
