import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditStore } from './audit-store.service.js';
import { scratchPostgres } from './audit-spec-fixtures.js';
import { openQuotaStore, type QuotaReserveRequest, type QuotaStore } from './quota-store.service.js';

const DAY = 86_400_000;

interface Backend {
  opts: { databaseUrl?: string; sqlitePath: string };
  dispose(): Promise<void>;
}

/** The same suite on both databases the product supports: SQLite (default) and PostgreSQL (database.url). */
const backends: Record<string, () => Promise<Backend>> = {
  SQLite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-quota-'));
    return {
      opts: { sqlitePath: join(dir, 'audit.sqlite') },
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  PostgreSQL: () => scratchPostgres('quota'),
};

describe.each(Object.keys(backends))('quota store (%s)', (name) => {
  let backend: Backend;
  let store: QuotaStore;
  beforeAll(async () => {
    backend = await backends[name]!();
    store = await openQuotaStore(backend.opts);
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  const at = new Date('2026-11-24T12:00:00Z');
  const req = (id: string, over: Partial<QuotaReserveRequest> = {}): QuotaReserveRequest => ({
    reservationId: id,
    tenant: 'acme',
    counterKey: 'acme|tenant:acme|q|api_calls',
    limit: 3,
    periodMs: DAY,
    amount: 1,
    enforcement: 'hard',
    alertThreshold: 0.6,
    at,
    ...over,
  });

  it('reserves idempotently, alerts once at the threshold, refuses over a hard limit', async () => {
    const a = await store.reserve(req('r1'));
    expect(a).toMatchObject({ granted: true, used: 1, alert: false });
    expect(await store.reserve(req('r1'))).toMatchObject({ granted: true, reserved: 1, used: 1 });
    const b = await store.reserve(req('r2'));
    expect(b).toMatchObject({ granted: true, used: 2, alert: true });
    expect(await store.reserve(req('r3'))).toMatchObject({ granted: true, used: 3, alert: false });
    const refused = await store.reserve(req('r4'));
    expect(refused).toMatchObject({ granted: false, used: 3, overLimit: true, alert: true });
    expect((await store.reservation('r4'))?.status).toBe('refused');
    expect(await store.usage('acme|tenant:acme|q|api_calls', at, DAY)).toBe(3);
  });

  it('releases once, commits actual usage, and tombstones an unknown id', async () => {
    await store.release('r3');
    await store.release('r3');
    expect(await store.usage('acme|tenant:acme|q|api_calls', at, DAY)).toBe(2);
    await store.commit('r2', 0.5);
    await store.commit('r2', 7);
    expect(await store.usage('acme|tenant:acme|q|api_calls', at, DAY)).toBe(1.5);
    await store.release('r2'); // committed stays committed
    expect((await store.reservation('r2'))?.status).toBe('committed');
    await store.release('never');
    expect(await store.reserve(req('never'))).toMatchObject({ granted: false, reserved: 0 });
    expect(await store.usage('acme|tenant:acme|q|api_calls', at, DAY)).toBe(1.5);
  });

  it('soft enforcement allows over the limit and alerts; a new period starts from zero', async () => {
    const key = 'acme|tenant:acme|soft|api_calls';
    const soft = (id: string, when = at) =>
      store.reserve(req(id, { counterKey: key, limit: 1, enforcement: 'soft', at: when }));
    expect(await soft('s1')).toMatchObject({ granted: true, used: 1, overLimit: false });
    expect(await soft('s2')).toMatchObject({ granted: true, used: 2, overLimit: true, alert: true });
    expect(await soft('s3')).toMatchObject({ granted: true, used: 3, alert: false });
    expect(await soft('s4', new Date(at.getTime() + DAY))).toMatchObject({ used: 1 });
  });

  it('shares the audit database (one migration list) and serialises concurrent reservations', async () => {
    const audit = await openAuditStore(backend.opts);
    await audit.close();
    const key = 'acme|tenant:acme|race|api_calls';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.reserve(req(`race${i}`, { counterKey: key, limit: 5, alertThreshold: undefined })),
      ),
    );
    expect(results.filter((r) => r.granted)).toHaveLength(5);
    expect(await store.usage(key, at, DAY)).toBe(5);
  });

  it('commits concurrent operations together; one that fails leaves the others of its batch durable', async () => {
    const key = 'acme|tenant:acme|batch|api_calls';
    // A NULL tenant violates NOT NULL inside the transaction (after the idempotency lookup), not before it.
    const bad = req('batch-bad', { counterKey: `${key}-bad`, tenant: null as unknown as string });
    const settled = await Promise.allSettled([
      store.reserve(req('batch-1', { counterKey: key, limit: 10 })),
      store.reserve(bad),
      store.reserve(req('batch-2', { counterKey: key, limit: 10 })),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await store.commit('batch-1', 0.25);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/quota store at .* failed/);
    expect(await store.reservation('batch-bad')).toBeUndefined();
    expect((await store.reservation('batch-1'))?.status).toBe('committed');
    expect(await store.usage(key, at, DAY)).toBe(1.25);
  });

  it('keeps every concurrent commit and release of one counter, and one id reserved twice at once counts once', async () => {
    const key = 'acme|tenant:acme|mixed|api_calls';
    const ids = Array.from({ length: 10 }, (_, i) => `mixed${i}`);
    // The same id twice in one turn (one SQLite batch; two PostgreSQL transactions): the second sees the first.
    const [first, again] = await Promise.all([
      store.reserve(req('mixed-dup', { counterKey: key, limit: 100 })),
      store.reserve(req('mixed-dup', { counterKey: key, limit: 100 })),
    ]);
    expect(first).toMatchObject({ granted: true, reserved: 1 });
    expect(again).toMatchObject({ granted: true, reserved: 1 });
    await Promise.all(ids.map((id) => store.reserve(req(id, { counterKey: key, limit: 100 }))));
    expect(await store.usage(key, at, DAY)).toBe(11);
    await Promise.all(ids.map((id, i) => (i % 2 === 0 ? store.commit(id, 2) : store.release(id))));
    expect(await store.usage(key, at, DAY)).toBe(11);
    expect((await store.reservation('mixed0'))?.status).toBe('committed');
    expect((await store.reservation('mixed1'))?.status).toBe('released');
  });
});
