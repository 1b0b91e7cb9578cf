import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataSource } from 'typeorm';
import { type AuditEventInput, createDataSource, openAuditStore } from '../index.js';
import { createPiiAuditRedactor } from '../privacy/pii-audit-redactor.js';
import { type SpoolingAuditStore, withAuditSpool } from './spooling-audit-store.js';

// SQLite made unavailable the way another process would: it holds the write lock longer than the busy timeout.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-spool-'));
  const db = { sqlitePath: join(dir, 'audit.sqlite'), timeoutMs: 200 };
  const spoolPath = join(dir, 'audit-spool.jsonl');
  let locker: DataSource | undefined;
  const stores: SpoolingAuditStore[] = [];
  cleanups.push(async () => {
    await locker?.destroy().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    spoolPath,
    async open(opts: { spoolKey?: Buffer; redact?: boolean } = {}) {
      const store = withAuditSpool(await openAuditStore(db), {
        spoolPath,
        pingIntervalMs: 50,
        ...(opts.spoolKey ? { spoolKey: opts.spoolKey } : {}),
        ...(opts.redact ? { redactor: createPiiAuditRedactor() } : {}),
      });
      stores.push(store);
      return store;
    },
    async lock() {
      locker = await createDataSource(db).initialize();
      await locker.query('BEGIN IMMEDIATE');
    },
    async unlock() {
      await locker?.query('ROLLBACK');
      await locker?.destroy();
      locker = undefined;
    },
  };
}

let n = 0;
function event(fields: Partial<AuditEventInput> = {}): AuditEventInput & { id: string } {
  n += 1;
  return {
    id: randomUUID(),
    time: new Date(Date.UTC(2026, 10, 25, 0, 0, 0, n)),
    tenant: 'acme',
    user: 'u',
    server: 's',
    method: 'tools/call',
    target: 'echo',
    decision: 'allow',
    configVersion: 'v',
    outcome: 'ok',
    durationMs: 1,
    requestBytes: 1,
    responseBytes: 1,
    argsSummary: `{"n":${n}}`,
    ...fields,
  };
}

describe('withAuditSpool on SQLite', () => {
  it('spools while the database is locked and replays in order once it is free', async () => {
    const t = setup();
    const store = await t.open();
    await store.append(event());
    await t.lock();
    const during = Array.from({ length: 50 }, () => event());
    const t0 = Date.now();
    for (const e of during) await store.append(e);
    // Replay attempts back off while the lock holds (each blocks for the busy timeout), so spooling stays fast.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(store.isDegraded()).toBe(true);
    expect(store.spooled()).toBe(50);
    expect(() => store.assertAvailable()).toThrow(/governed operations are refused/);
    await t.unlock();
    await store.drained();
    expect(store.isDegraded()).toBe(false);
    expect(readFileSync(t.spoolPath, 'utf8')).toBe('');
    const stored = await store.query({ order: 'asc', limit: 1000 });
    expect(stored.map((e) => e.id)).toEqual([stored[0]!.id, ...during.map((e) => e.id)]);
    // Every other method is the inner store's.
    expect(store.driver).toBe('better-sqlite3');
  });

  it('replays a spool left by an earlier run at start; a torn last line is dropped, a bad line set aside', async () => {
    const t = setup();
    const first = await t.open();
    await first.append(event());
    await t.lock();
    const spooled = [event(), event(), event()];
    for (const e of spooled) await first.append(e);
    await first.close();
    appendFileSync(t.spoolPath, 'not json\n{"id":"torn-wri');
    await t.unlock();

    const second = await t.open();
    expect(second.isDegraded()).toBe(true);
    await second.drained();
    const ids = (await second.query({ limit: 100 })).map((e) => e.id);
    for (const e of spooled) expect(ids).toContain(e.id);
    expect(ids).toHaveLength(4);
    expect(readFileSync(`${t.spoolPath}.rejected`, 'utf8')).toContain('unreadable spool line');
    expect(readFileSync(t.spoolPath, 'utf8')).toBe('');
  });

  it('keeps PII and plaintext out of the spool file (redactor and sealed lines)', async () => {
    const t = setup();
    const key = randomBytes(32);
    const store = await t.open({ spoolKey: key, redact: true });
    await t.lock();
    const e = event({ argsSummary: '{"email":"jane.doe@example.com","path":"/srv/plans.txt"}' });
    await store.append(e);
    const file = readFileSync(t.spoolPath, 'utf8');
    expect(file).toMatch(/^sealed:[A-Za-z0-9+/=]+\n$/);
    expect(file).not.toContain('plans.txt');
    await t.unlock();
    await store.drained();
    const [stored] = await store.query({ limit: 10 });
    expect(stored?.argsSummary).toContain('/srv/plans.txt');
    expect(stored?.argsSummary).not.toContain('jane.doe@example.com');
    expect(stored?.notes).toEqual(['pii redacted: email']);
    expect(existsSync(`${t.spoolPath}.rejected`)).toBe(false);
  });

  it('passes invalid events straight back instead of spooling them', async () => {
    const t = setup();
    const store = await t.open();
    await expect(store.append({ ...event(), tenant: '' })).rejects.toThrow(/tenant must be a non-empty string/);
    expect(store.isDegraded()).toBe(false);
  });
});
