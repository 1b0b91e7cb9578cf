import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEventInput, createDataSource, openAuditStore } from '../index.js';

const TOTAL = 100_000;
const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];

describe('audit chain under load', () => {
  it('ends 100,000 concurrent appends (with retried duplicates) with exactly 100,000 events and a verifying chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-load-'));
    const store = await openAuditStore({
      sqlitePath: join(dir, 'audit.sqlite'),
      checkpoints: { signingKeyPath: join(dir, 'key.pem') },
    });
    try {
      const ids = Array.from({ length: TOTAL }, () => randomUUID());
      const event = (i: number): AuditEventInput => ({
        id: ids[i]!,
        time: new Date(Date.UTC(2026, 10, 24) + i),
        tenant: TENANTS[i % TENANTS.length]!,
        user: `user-${i % 97}`,
        server: 'cloudflare_mcp',
        method: 'tools/call',
        target: 'dns_records_list',
        decision: i % 10 === 0 ? 'deny' : 'allow',
        configVersion: 'v1',
        outcome: 'ok',
        durationMs: i % 50,
        requestBytes: 100,
        responseBytes: 300,
        argsSummary: `{"zone":"example-${i}.com"}`,
      });
      // 1,000 callers in flight, as many gateway sessions would be; every 10th event is retried once
      // (an idempotent re-append, e.g. after a timeout), which must not add an event or a seq.
      let next = 0;
      await Promise.all(
        Array.from({ length: 1000 }, async () => {
          while (next < TOTAL) {
            const i = next++;
            await store.append(event(i));
            if (i % 10 === 0) await store.append(event(i));
          }
        }),
      );
      expect(store.stats()).toMatchObject({ failedBatches: 0 });

      const report = await store.verify();
      expect(report.ok).toBe(true);
      expect(report.tenants.map((t) => [t.tenant, t.events, t.startSeq, t.lastSeq])).toEqual(
        TENANTS.map((t) => [t, TOTAL / 4, 1, TOTAL / 4]).sort(),
      );
      expect(report.tenants.reduce((n, t) => n + t.events, 0)).toBe(TOTAL);
      const db = await createDataSource({ sqlitePath: join(dir, 'audit.sqlite') }).initialize();
      const [{ n }] = (await db.query('SELECT COUNT(*) AS n FROM audit_events')) as [{ n: number }];
      await db.destroy();
      expect(n).toBe(TOTAL);
      await store.checkpoint();
      expect((await store.verify()).tenants.every((t) => t.lastSignedSeq === TOTAL / 4)).toBe(true);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
