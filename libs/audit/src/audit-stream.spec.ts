import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEvent, type AuditEventInput, type AuditStore, openAuditStore } from './index.js';
import { scratchPostgres } from './audit-spec-fixtures.js';

const T0 = Date.UTC(2026, 9, 1);

/** 2,500 events in three tenants; every fifth shares its millisecond with the one before (ties broken by id). */
function events(): AuditEventInput[] {
  const out: AuditEventInput[] = [];
  for (let i = 0; i < 2500; i++) {
    out.push({
      id: randomUUID(),
      time: new Date(T0 + (i % 5 === 4 ? i - 1 : i) * 60_000),
      tenant: ['acme', 'globex', 'initech'][i % 3]!,
      user: `user${i % 7}@example.com`,
      server: i % 2 === 0 ? 'perplexity_mcp' : 'cloudflare_mcp',
      method: 'tools/call',
      target: `tool_${i % 4}`,
      decision: i % 10 === 0 ? 'deny' : 'allow',
      configVersion: 'c'.repeat(64),
      outcome: i % 10 === 0 ? 'denied' : 'ok',
      durationMs: i % 100,
      requestBytes: 100,
      responseBytes: 1000,
    });
  }
  return out;
}

async function collect(iterable: AsyncIterable<AuditEvent>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

const byTimeThenId = (a: { time: Date; id?: string }, b: { time: Date; id?: string }): number =>
  a.time.getTime() - b.time.getTime() || (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0);

function streamSuite(name: string, open: () => Promise<{ store: AuditStore; dispose(): Promise<void> }>): void {
  describe(`AuditStore.stream on ${name}`, () => {
    let store: AuditStore;
    let dispose: () => Promise<void>;
    const written = events();

    beforeAll(async () => {
      ({ store, dispose } = await open());
      await Promise.all(written.map((e) => store.append(e)));
    });
    afterAll(async () => {
      await store.close();
      await dispose();
    });

    it('yields every event exactly once, oldest first with ties by id, across page boundaries', async () => {
      const got = await collect(store.stream({}, { batchSize: 97 }));
      expect(got).toHaveLength(written.length);
      expect(new Set(got.map((e) => e.id)).size).toBe(written.length);
      const expected = [...written].sort(byTimeThenId).map((e) => e.id);
      expect(got.map((e) => e.id)).toEqual(expected);
      expect(got[0]).toMatchObject({ tenant: 'acme', server: 'perplexity_mcp', decision: 'deny', durationMs: 0 });
      expect(got[0]!.time).toBeInstanceOf(Date);
    });

    it('applies the filters and the time range, and counts what it will yield', async () => {
      const since = new Date(T0 + 500 * 60_000);
      const until = new Date(T0 + 1500 * 60_000);
      const filter = { tenant: 'globex', decision: 'allow' as const, since, until };
      const stream = store.stream(filter, { batchSize: 50 });
      const got = await collect(stream);
      const expected = written.filter(
        (e) => e.tenant === 'globex' && e.decision === 'allow' && e.time >= since && e.time < until,
      );
      expect(got.map((e) => e.id)).toEqual([...expected].sort(byTimeThenId).map((e) => e.id));
      expect(await stream.count()).toBe(expected.length);
    });

    it('takes the query filters of `audit` too (target, outcome, free text)', async () => {
      const got = await collect(store.stream({ target: 'tool_2', outcome: 'denied', text: 'USER3' }, { batchSize: 5 }));
      const expected = written.filter(
        (e) => e.target === 'tool_2' && e.outcome === 'denied' && e.user.includes('user3'),
      );
      expect(expected.length).toBeGreaterThan(0);
      expect(got.map((e) => e.id)).toEqual([...expected].sort(byTimeThenId).map((e) => e.id));
    });

    it('stops at limit and yields nothing for an empty match', async () => {
      expect(await collect(store.stream({ limit: 130 }, { batchSize: 40 }))).toHaveLength(130);
      expect(await collect(store.stream({ tenant: 'nobody' }))).toEqual([]);
    });

    it('rejects a bad batch size with a message naming the bound', () => {
      expect(() => store.stream({}, { batchSize: 0 })).toThrow(/batchSize must be an integer from 1 to 10000/);
    });
  });
}

streamSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-stream-'));
  const store = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  return { store, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
});

streamSuite('PostgreSQL', async () => {
  const db = await scratchPostgres('stream');
  const store = await openAuditStore(db.opts);
  return { store, dispose: () => db.dispose() };
});
