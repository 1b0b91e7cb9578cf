import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditEvent as event, holdSqliteWriteLock, perTestScratch } from '../audit-spec-fixtures.js';
import { openAuditStore } from '../index.js';
import { createPiiAuditRedactor } from '../privacy/pii-audit-redactor.js';
import { withAuditSpool } from './spooling-audit-store.js';

// SQLite made unavailable the way another process would: it holds the write lock longer than the busy timeout.
const scratch = perTestScratch();

function setup() {
  const dir = scratch.tempDir('atom-gov-spool-');
  const db = { sqlitePath: join(dir, 'audit.sqlite'), timeoutMs: 200 };
  const spoolPath = join(dir, 'audit-spool.jsonl');
  let lock: { release(): Promise<void> } | undefined;
  scratch.defer(() => lock?.release().catch(() => undefined));
  return {
    dir,
    spoolPath,
    async open(opts: { spoolKey?: Buffer; redact?: boolean } = {}) {
      return scratch.track(
        withAuditSpool(await openAuditStore(db), {
          spoolPath,
          pingIntervalMs: 50,
          ...(opts.spoolKey ? { spoolKey: opts.spoolKey } : {}),
          ...(opts.redact ? { redactor: createPiiAuditRedactor() } : {}),
        }),
      );
    },
    async lock() {
      lock = await holdSqliteWriteLock(db.sqlitePath, db.timeoutMs);
    },
    async unlock() {
      await lock?.release();
      lock = undefined;
    },
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
