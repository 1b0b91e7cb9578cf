import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createDataSource, type DataSourceOptions, migrations, openAuditStore } from '../index.js';
import { scratchPostgres } from '../audit-spec-fixtures.js';
import { runMigrations } from '../audit-store.service.js';

type Backend = { opts: DataSourceOptions; pg: boolean; dispose(): Promise<void> };

async function sqlite(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-chain-migration-'));
  return {
    opts: { sqlitePath: join(dir, 'audit.sqlite') },
    pg: false,
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgres(): Promise<Backend> {
  const db = await scratchPostgres('chain_migration');
  return { opts: db.opts, pg: true, dispose: () => db.dispose() };
}

describe.each([
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
])('chain migration on %s', (_name, make) => {
  it('chains events stored before the chain existed, per tenant in time order, and they verify', async () => {
    const backend = await make();
    try {
      // A database as the previous release left it: every migration before the chain, events without seq/hash.
      const pre = migrations.filter((m) => !new m().name.startsWith('AuditChain'));
      const legacy = new DataSource({ ...createDataSource(backend.opts).options, migrations: pre } as never);
      await legacy.initialize();
      await runMigrations(legacy, backend.pg ? 'postgres' : 'better-sqlite3');
      const times = ['2026-11-20 10:00:03.000', '2026-11-20 10:00:01.000', '2026-11-20 10:00:02.000'];
      const ids: string[] = [];
      for (const [i, time] of times.entries()) {
        const id = randomUUID();
        ids.push(id);
        const values = [id, backend.pg ? new Date(`${time.replace(' ', 'T')}Z`) : time, i === 1 ? 'globex' : 'acme'];
        const p = backend.pg ? ['$1', '$2', '$3'] : ['?', '?', '?'];
        await legacy.query(
          'INSERT INTO audit_events (id, time, tenant, user_name, server, method, decision, config_version, outcome, ' +
            `duration_ms, request_bytes, response_bytes, rules) VALUES (${p.join(', ')}, 'u', 's', 'tools/call', 'allow', 'v', 'ok', 1, 2, 3, '["r"]')`,
          values,
        );
      }
      await legacy.destroy();

      const store = await openAuditStore(backend.opts);
      try {
        const events = await store.query({ order: 'asc' });
        expect(events.map((e) => [e.tenant, e.seq, e.id])).toEqual([
          ['globex', 1, ids[1]],
          ['acme', 1, ids[2]],
          ['acme', 2, ids[0]],
        ]);
        expect((await store.verify()).ok).toBe(true);
        // New events continue each tenant's chain.
        await store.append({ ...events[0]!, id: randomUUID(), tenant: 'acme', time: new Date() });
        const report = await store.verify();
        expect(report.ok).toBe(true);
        expect(report.tenants.map((t) => [t.tenant, t.lastSeq])).toEqual([
          ['acme', 3],
          ['globex', 1],
        ]);
      } finally {
        await store.close();
      }
    } finally {
      await backend.dispose();
    }
  });
});
