import { type AuditDriver } from './audit-event.entity.js';

/** A failure kept for health reporting: what went wrong and when (ISO time). Cleared by the next success. */
export interface AuditHealthError {
  message: string;
  at: string;
}

/**
 * What an operator (/healthz) or a scraper (/metrics) needs to see of the audit write path without reading logs:
 * events are durable in the database regardless of the checkpoint and trail-file states, but a failing checkpoint
 * or trail write weakens the evidence and must be visible.
 */
export interface AuditHealth {
  /** False while any of the parts below reports a current problem (a lastError, or the spool in use). */
  ok: boolean;
  driver: AuditDriver;
  writer: {
    /** SQLite: 'thread' when batches are written from the writer thread; PostgreSQL: always 'in-process'. */
    mode: 'thread' | 'in-process';
    /** Events waiting for the next transaction. */
    queued: number;
    /** Events in the transaction being written now. */
    inFlight: number;
    /** Age in ms of the oldest event accepted and not yet durable (0 when nothing is pending): the write lag. */
    lagMs: number;
    /** Submit-to-durable time in ms of the oldest event of the last committed batch. */
    lastCommitLagMs?: number;
    lastCommitAt?: string;
    /** Transactions that failed since the store opened (each rejected its appends). */
    failedBatches: number;
    /** The last failed transaction; cleared by the next successful one. */
    lastError?: AuditHealthError;
  };
  checkpoints: {
    /** False when the store was opened without a signing key. */
    enabled: boolean;
    /** When the last checkpoint was written (any reason), by this process. */
    lastAt?: string;
    /** Checkpoint writes (database or mirror file) that failed since the store opened. */
    failures: number;
    /** The last failed checkpoint write; cleared by the next successful one. */
    lastError?: AuditHealthError;
  };
  trailFile: {
    /** False when no trail file (JSONL mirror) is configured. */
    enabled: boolean;
    path?: string;
    lastWriteAt?: string;
    /** Batches that could not be mirrored since the store opened (the events are in the database regardless). */
    failures: number;
    /** The last failed write; cleared by the next successful one. */
    lastError?: AuditHealthError;
  };
  spool: {
    /** 'off': no spool configured; 'idle': writing to the database; 'spooling': the database is unavailable. */
    state: 'off' | 'idle' | 'spooling';
    /** Events in the spool not yet replayed. */
    spooled: number;
    /** Why the store is spooling. */
    reason?: string;
  };
}

/** Keeps a component's last failure (cleared by the next success) and its failure count. */
export class HealthTracker {
  failures = 0;
  lastError: AuditHealthError | undefined;
  lastOkAt: string | undefined;

  ok(): void {
    this.lastOkAt = new Date().toISOString();
    this.lastError = undefined;
  }

  failed(error: unknown): void {
    this.failures += 1;
    this.lastError = {
      message: error instanceof Error ? error.message : String(error),
      at: new Date().toISOString(),
    };
  }
}

/** `ok` from the parts: any current error, or the spool in use, makes the store unhealthy. */
export function overallOk(health: Omit<AuditHealth, 'ok'>): boolean {
  return (
    !health.writer.lastError &&
    !health.checkpoints.lastError &&
    !health.trailFile.lastError &&
    health.spool.state !== 'spooling'
  );
}
