// The stream reads pages with the drivers directly (raw arrays, its own column conversion) for export speed. This
// spec holds it to the TypeORM-hydrated path of `query` (entity hydration + the store's row mapping + opening of
// sealed fields): the same events, field for field and in the same key order, on SQLite and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditEvent,
  type AuditEventInput,
  type AuditQuery,
  type AuditStore,
  openAuditPrivacy,
  openAuditStore,
} from './index.js';
import { scratchPostgres } from './audit-spec-fixtures.js';
import { openDatabase } from './audit-store.service.js';
import { type DataSourceOptions } from './data-source.js';
import { type TenantKeyring } from './crypto/tenant-keyring.service.js';

const T0 = Date.UTC(2026, 9, 1);
const TENANTS = ['acme', 'globex', 'gone'] as const;

/** 600 events: sealed free-text fields, empty and filled optional columns, JSON arrays, ties in time. */
function events(): AuditEventInput[] {
  const out: AuditEventInput[] = [];
  for (let i = 0; i < 600; i++) {
    const denied = i % 9 === 0;
    out.push({
      id: randomUUID(),
      // Every fourth event shares its millisecond with the one before: page cursors must break ties by id.
      time: new Date(T0 + (i % 4 === 3 ? i - 1 : i) * 61_000 + (i % 1000)),
      tenant: TENANTS[i % 3]!,
      user: `user${i % 5}@example.com`,
      server: i % 2 ? 'perplexity_mcp' : 'cloudflare_mcp',
      method: 'tools/call',
      decision: denied ? 'deny' : 'allow',
      configVersion: 'c'.repeat(64),
      outcome: denied ? 'denied' : 'ok',
      durationMs: i % 100,
      requestBytes: 10 + i,
      responseBytes: 1000 + i,
      ...(i % 3 !== 1 ? { target: `tool_${i % 4}`, sessionId: `s-${i % 7}` } : {}),
      ...(denied
        ? { policy: 'p.rate_limit', rules: ['p.rate_limit', 'p.other'], errorMessage: `denied "${i}", retry` }
        : {}),
      ...(i % 2 === 0 ? { argsSummary: `{"query":"q${i}, =1+1","n":${i}}` } : {}),
      ...(i % 5 === 0 ? { resultSummary: `{"ok":true,"n":${i}}`, notes: [`note ${i}`, 'pii redacted: email'] } : {}),
      ...(i % 6 === 0 ? { intent: `intent ${i}`, operationId: `op-${i}` } : {}),
    });
  }
  return out;
}

async function collect(iterable: AsyncIterable<AuditEvent>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

interface Db {
  opts: DataSourceOptions;
  dispose(): Promise<void>;
}

function parity(name: string, openDb: () => Promise<Db>): void {
  describe(`AuditStore.stream raw reads on ${name}`, () => {
    let db: Db;
    let dir: string;
    let keyring: TenantKeyring;
    let closePrivacy: () => Promise<void>;
    let store: AuditStore;
    const written = events();

    beforeAll(async () => {
      db = await openDb();
      dir = mkdtempSync(join(tmpdir(), 'atom-gov-stream-raw-'));
      const privacy = await openAuditPrivacy({
        ...db.opts,
        encrypt: true,
        piiRedaction: false,
        dataDir: dir,
        masterKey: randomBytes(32).toString('hex'),
        cacheTtlMs: 0,
      });
      keyring = privacy.keyring!;
      closePrivacy = () => privacy.close();
      // The store seals the free-text fields on append and opens them on reads (query and stream alike).
      store = await openAuditStore({ ...db.opts, cipher: keyring });
      for (const e of written) await store.append(e);
      // A crypto-shredded tenant: its sealed fields read [erased] on both paths.
      expect(await keyring.forget('gone')).toBe(1);
    });
    afterAll(async () => {
      await store.close();
      await closePrivacy();
      await db.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('stores the free-text fields sealed (so the comparison below covers decryption)', async () => {
      const handle = await openDatabase(db.opts);
      try {
        const rows = (await handle.dataSource.query(
          "SELECT args_summary FROM audit_events WHERE args_summary IS NOT NULL AND args_summary NOT LIKE 'enc:v1:%'",
        )) as unknown[];
        expect(rows).toEqual([]);
      } finally {
        await handle.dataSource.destroy();
      }
    });

    const since = new Date(T0 + 100 * 61_000);
    const until = new Date(T0 + 450 * 61_000 + 7);
    const filters: Array<[string, AuditQuery]> = [
      ['everything', {}],
      ['one tenant', { tenant: 'acme' }],
      ['a tenant and a time range', { tenant: 'globex', since, until }],
      ['a time range', { since, until }],
      ['the erased tenant', { tenant: 'gone', since }],
      ['server, decision and free text', { server: 'perplexity_mcp', decision: 'deny', text: 'USER3' }],
      ['a limit', { limit: 123, since }],
    ];
    for (const [label, filter] of filters) {
      it(`yields exactly what the TypeORM-hydrated query path returns: ${label}`, async () => {
        const expected = await store.query({ ...filter, order: 'asc', limit: filter.limit ?? 100_000 });
        expect(expected.length).toBeGreaterThan(0);
        for (const batchSize of [7, 1000]) {
          const got = await collect(store.stream(filter, { batchSize }));
          expect(got).toEqual(expected);
          // Same keys in the same order: the JSON exports serialise these objects as they are.
          expect(got.map((e) => JSON.stringify(e))).toEqual(expected.map((e) => JSON.stringify(e)));
        }
      });
    }

    it('opens sealed fields, reads [erased] for the shredded tenant, and keeps the chain and array columns', async () => {
      const got = await collect(store.stream({}, { batchSize: 50 }));
      const byId = new Map(written.map((e) => [e.id!, e]));
      expect(got).toHaveLength(written.length);
      for (const e of got) {
        const input = byId.get(e.id)!;
        expect(e.time).toEqual(input.time);
        expect(e.seq).toEqual(expect.any(Number));
        expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(e.rules).toEqual(input.rules);
        expect(e.notes).toEqual(input.notes);
        expect(e.target).toBe(input.target);
        const plain = e.tenant === 'gone' ? '[erased]' : undefined;
        for (const field of ['argsSummary', 'resultSummary', 'errorMessage'] as const) {
          expect(e[field]).toBe(input[field] === undefined ? undefined : (plain ?? input[field]));
        }
      }
    });

    it('pages() yields the same events page by page, each page at most batchSize long', async () => {
      const stream = store.stream({ tenant: 'acme' }, { batchSize: 64 });
      const pages: AuditEvent[][] = [];
      for await (const page of stream.pages!()) pages.push(page);
      expect(pages.every((p) => p.length <= 64)).toBe(true);
      expect(pages.flat()).toEqual(await store.query({ tenant: 'acme', order: 'asc' }));
    });
  });
}

parity('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-stream-raw-db-'));
  return Promise.resolve({
    opts: { sqlitePath: join(dir, 'audit.sqlite') },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  });
});

parity('PostgreSQL', async () => {
  return scratchPostgres('stream_raw');
});
