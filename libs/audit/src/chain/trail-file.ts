import { mkdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type AuditEventRow } from '../audit-event.entity.js';
import { HealthTracker } from '../audit-health.js';

/**
 * The seed's `trail_file`: an append-only JSONL mirror of the chain for shipping to a SIEM. Each committed batch is
 * appended after its transaction, in chain order, as stored (redacted, sealed), with seq, hash and prevHash, so a
 * collector can check the links without database access.
 */
export class TrailFile {
  /** Batches that could not be mirrored (the events are durable in the database regardless), for health(). */
  readonly health = new HealthTracker();

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async append(rows: readonly AuditEventRow[]): Promise<void> {
    if (rows.length === 0) return;
    const text = rows.map((row) => `${JSON.stringify(trailLine(row))}\n`).join('');
    try {
      await appendFile(this.path, text, { mode: 0o600 });
      this.health.ok();
    } catch (error) {
      // Not thrown: the batch is committed and its appends must resolve; health() shows the failure.
      this.health.failed(new Error(`writing the trail file ${this.path} failed: ${(error as Error).message}`));
    }
  }
}

function trailLine(row: AuditEventRow): Record<string, unknown> {
  const line: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (value === null || value === undefined) continue;
    line[key] = value instanceof Date ? value.toISOString() : value;
  }
  return line;
}
