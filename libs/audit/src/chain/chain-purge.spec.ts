import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type AuditEventRow } from '../audit-event.entity.js';
import { type AuditStore, openAuditStore } from '../index.js';
import { type SqliteDatabase } from './chain-sql.js';
import { sqliteAppender } from './chain-writer.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => SqliteDatabase & {
  close(): void;
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function row(tenant: string, time: Date, i: number): AuditEventRow {
  return {
    id: randomUUID(),
    seq: null,
    time,
    tenant,
    user: `user-${i % 50}`,
    sessionId: null,
    server: 'cloudflare_mcp',
    method: 'tools/call',
    target: 'dns_records_list',
    decision: 'allow',
    policy: 'default',
    rules: ['rate-limit:60/min'],
    configVersion: 'v1',
    intent: null,
    outcome: 'ok',
    errorMessage: null,
    durationMs: 12,
    requestBytes: 180,
    responseBytes: 2048,
    argsSummary: `{"zone":"example-${i}.com"}`,
    resultSummary: '3 records',
    operationId: null,
    hash: null,
    prevHash: null,
    notes: null,
  };
}

describe('retention purge of a large SQLite chain', () => {
  it('purges 200,000 expired events in batches without blocking the event loop, and what remains verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-purge-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sqlitePath = join(dir, 'audit.sqlite');
    const mirrorFile = join(dir, 'checkpoints.jsonl');
    const store: AuditStore = await openAuditStore({
      sqlitePath,
      checkpoints: { signingKeyPath: join(dir, 'key.pem'), mirrorFile, idleMs: 600_000 },
    });
    cleanups.push(() => store.close());

    // Seeded through the store's own append transaction on a second connection (the way a writer thread
    // appends), 5,000 events per transaction: 200,000 expired events of two tenants, then 1,000 recent ones.
    const expired = 200_000;
    const old = Date.UTC(2019, 0, 1);
    const db = new Database(sqlitePath);
    const append = sqliteAppender(db);
    for (let i = 0; i < expired; i += 5000) {
      append(Array.from({ length: 5000 }, (_, k) => row(k % 2 ? 'acme' : 'globex', new Date(old + i + k), i + k)));
    }
    append(
      Array.from({ length: 1000 }, (_, k) => row(k % 2 ? 'acme' : 'globex', new Date(Date.UTC(2026, 10, 1) + k), k)),
    );
    db.close();

    // The longest stall is measured as the longest gap between ticks of a 5 ms interval: monitorEventLoopDelay's
    // histogram alone misses a loop blocked from before its first sample to after it is disabled (it reported 0 ms
    // for the one-transaction purge that stalled 3.7 s).
    let lastTick = performance.now();
    let longestStallMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestStallMs = Math.max(longestStallMs, now - lastTick);
      lastTick = now;
    }, 5);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const results = await store.purge(new Date(Date.UTC(2026, 0, 1)), { batchSize: 5000 });
    const seconds = (performance.now() - started) / 1000;
    // One more turn, so a stall at the very end is measured too.
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    clearInterval(ticker);
    delay.disable();

    expect(results.map((r) => [r.tenant, r.deleted, r.startSeq, r.batches])).toEqual([
      ['acme', 100_000, 100_001, 20],
      ['globex', 100_000, 100_001, 20],
    ]);
    // The longest stall is one batch (5,000 deletes), not the purge: measured on 2 shared cores at load ~9, one
    // batch stalled 354 ms where the same purge in one transaction stalled 3.7 s (its whole duration).
    expect(longestStallMs).toBeLessThan(Math.max(600, (seconds * 1000) / 4));

    const report = await store.verify();
    expect(report.ok).toBe(true);
    expect(report.tenants.map((t) => [t.tenant, t.events, t.startSeq, t.lastSeq])).toEqual([
      ['acme', 500, 100_001, 100_500],
      ['globex', 500, 100_001, 100_500],
    ]);
    // Every batch left a signed retention checkpoint, mirrored as it was committed.
    const mirrored = readFileSync(mirrorFile, 'utf8').trim().split('\n');
    expect(mirrored).toHaveLength(40);
    expect(mirrored.map((l) => (JSON.parse(l) as { reason: string }).reason)).toEqual(Array(40).fill('retention'));
    console.log(
      `purge of ${expired} events: ${seconds.toFixed(2)} s, longest event-loop stall ${longestStallMs.toFixed(0)} ms, ` +
        `event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms`,
    );
  }, 180_000);
});
