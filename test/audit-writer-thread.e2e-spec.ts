// The audit store's SQLite writer thread (libs/audit/src/chain/sqlite-writer-thread.ts) as it runs in production:
// only the compiled package has the thread's script, so each scenario runs in a child `node` that imports
// libs/audit/dist and prints what it observed. Needs `npm run build` (scripts/setup.sh does it before the suite).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { openAuditStore } from '@atom-gov/audit';

const dist = resolve('libs/audit/dist/index.js');
const threadScript = resolve('libs/audit/dist/chain/sqlite-writer.worker.js');
let dir: string;

/** Runs `body` (an async function body given `audit` = the compiled package and `path`) in a child node. */
async function inChild<T>(body: string, sqlitePath: string): Promise<T> {
  const script =
    `const audit = await import(${JSON.stringify(pathToFileURL(dist).href)});\n` +
    `const path = ${JSON.stringify(sqlitePath)};\n` +
    `const result = await (async () => {\n${body}\n})();\n` +
    'process.stdout.write(JSON.stringify(result));\n';
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as T;
}

/** An event literal for the child scripts. */
const EVENT = `(tenant, i) => ({
  id: crypto.randomUUID(), time: new Date(Date.UTC(2026, 10, 25, 0, 0, 0, i)), tenant, user: 'u' + i, server: 's',
  method: 'tools/call', decision: 'allow', configVersion: 'v', outcome: 'ok', durationMs: 1, requestBytes: 1,
  responseBytes: 1, argsSummary: String(i),
})`;

beforeAll(() => {
  if (!existsSync(dist) || !existsSync(threadScript)) {
    throw new Error('libs/audit is not built: run `npm run build` first (the writer thread needs its compiled script)');
  }
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-writer-thread-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite writer thread (compiled package)', () => {
  it('writes concurrent batches in submission order: gapless seqs, linked hashes, a verifying chain', async () => {
    const sqlitePath = join(dir, 'order.sqlite');
    const seen = await inChild<{
      mode: string;
      seqs: Array<[string, number]>;
      stats: { batches: number; committed: number; failedBatches: number };
      ok: boolean;
    }>(
      `const event = ${EVENT};
       const store = await audit.openAuditStore({ sqlitePath: path });
       const mode = store.health().writer.mode;
       // Three bursts without waiting: each becomes a batch; the thread must commit them in this order.
       const ids = [];
       const all = [];
       for (let burst = 0; burst < 3; burst += 1) {
         for (let k = 0; k < 50; k += 1) {
           const e = event(k % 2 ? 'acme' : 'globex', burst * 50 + k);
           ids.push(e.id);
           all.push(store.append(e));
         }
         await new Promise((r) => setImmediate(r));
       }
       await Promise.all(all);
       const rows = await store.query({ order: 'asc', limit: 1000 });
       const byId = new Map(rows.map((r) => [r.id, r]));
       const seqs = ids.map((id) => [byId.get(id).tenant, byId.get(id).seq]);
       const ok = (await store.verify()).ok;
       const stats = store.stats();
       await store.close();
       return { mode, seqs, stats, ok };`,
      sqlitePath,
    );
    expect(seen.mode).toBe('thread');
    expect(seen.ok).toBe(true);
    expect(seen.stats).toMatchObject({ committed: 150, failedBatches: 0 });
    expect(seen.stats.batches).toBeGreaterThanOrEqual(2);
    // Submission order per tenant is seq order: 1, 2, 3 ... with nothing skipped.
    for (const tenant of ['acme', 'globex']) {
      const seqs = seen.seqs.filter(([t]) => t === tenant).map(([, s]) => s);
      expect(seqs).toEqual(Array.from({ length: 75 }, (_, i) => i + 1));
    }
  });

  it('fails a batch the thread cannot commit as rejected appends, counts it, and goes on with the next', async () => {
    const sqlitePath = join(dir, 'failure.sqlite');
    const seen = await inChild<{
      mode: string;
      rejected: string[];
      afterFailure: { failedBatches: number; lastError?: { message: string } };
      recovered: { ok: boolean; failedBatches: number; lastError?: unknown };
      events: number;
      verified: boolean;
    }>(
      `const event = ${EVENT};
       const { createRequire } = await import('node:module');
       const Database = createRequire(${JSON.stringify(dist)})('better-sqlite3');
       const store = await audit.openAuditStore({ sqlitePath: path, timeoutMs: 100 });
       const mode = store.health().writer.mode;
       await store.append(event('acme', 1));
       // Another process holds the write lock longer than the busy timeout: the thread's transaction fails.
       const locker = new Database(path);
       locker.exec('BEGIN IMMEDIATE');
       const results = await Promise.allSettled([store.append(event('acme', 2)), store.append(event('acme', 3))]);
       const rejected = results.map((r) => r.status === 'rejected' ? r.reason.name + ': ' + r.reason.message : 'resolved');
       const afterFailure = store.health().writer;
       locker.exec('ROLLBACK');
       locker.close();
       await store.append(event('acme', 4));
       const h = store.health();
       const recovered = { ok: h.ok, failedBatches: h.writer.failedBatches, lastError: h.writer.lastError };
       const report = await store.verify();
       await store.close();
       return { mode, rejected, afterFailure, recovered, events: report.tenants[0].events, verified: report.ok };`,
      sqlitePath,
    );
    expect(seen.mode).toBe('thread');
    expect(seen.rejected).toHaveLength(2);
    for (const r of seen.rejected) expect(r).toMatch(/^AuditStoreUnavailableError: audit store unavailable: .*locked/);
    expect(seen.afterFailure.failedBatches).toBe(1);
    expect(seen.afterFailure.lastError?.message).toMatch(/locked/);
    expect(seen.recovered).toEqual({ ok: true, failedBatches: 1 });
    // The failed batch took no seq: the next event follows the first, and the chain verifies.
    expect(seen.events).toBe(2);
    expect(seen.verified).toBe(true);
  });

  it('verifies on verification threads, slices joined at their borders; a tamper on a border is reported as the walk reports it', async () => {
    const sqlitePath = join(dir, 'verify.sqlite');
    type Report = {
      ok: boolean;
      threads: number;
      tenants: Array<{
        tenant: string;
        events: number;
        checkedBy: string;
        problems: Array<{ kind: string; seq?: number }>;
      }>;
    };
    const seen = await inChild<{ clean: Report; tampered: Report; walked: Report }>(
      `const event = ${EVENT};
       const { createRequire } = await import('node:module');
       const Database = createRequire(${JSON.stringify(dist)})('better-sqlite3');
       const store = await audit.openAuditStore({ sqlitePath: path });
       const all = [];
       for (let i = 0; i < 24000; i += 1) all.push(store.append(event(['acme', 'globex', 'initech'][i % 3], i)));
       await Promise.all(all);
       const strip = (r) => ({ ok: r.ok, threads: r.threads, tenants: r.tenants.map((t) => ({ tenant: t.tenant, events: t.events, checkedBy: t.checkedBy, problems: t.problems })) });
       // Slices of 6,000 rows: borders after rowid 6000, 12000 and 18000.
       const clean = strip(await store.verify({ threads: 2, rangeSize: 6000 }));
       const db = new Database(path);
       db.prepare("UPDATE audit_events SET outcome = 'error' WHERE rowid = 6001").run();
       db.close();
       const tampered = strip(await store.verify({ threads: 2, rangeSize: 6000 }));
       const walked = strip(await store.verify({ sequential: true }));
       await store.close();
       return { clean, tampered, walked };`,
      sqlitePath,
    );
    expect(seen.clean.ok).toBe(true);
    expect(seen.clean.threads).toBe(2);
    expect(seen.clean.tenants.map((t) => [t.tenant, t.events, t.checkedBy])).toEqual([
      ['acme', 8000, 'ranges'],
      ['globex', 8000, 'ranges'],
      ['initech', 8000, 'ranges'],
    ]);
    expect(seen.tampered.ok).toBe(false);
    const broken = seen.tampered.tenants.filter((t) => t.problems.length > 0);
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatchObject({ checkedBy: 'walk', problems: [{ kind: 'modified' }] });
    const strip = (r: Report) => r.tenants.map((t) => ({ ...t, checkedBy: '' }));
    expect(strip(seen.tampered)).toEqual(strip(seen.walked));
  });

  it('writes in-thread when the thread cannot start (no compiled script: the sources, as under this runner)', async () => {
    const sqlitePath = join(dir, 'fallback.sqlite');
    const store = await openAuditStore({ sqlitePath });
    try {
      expect(store.health().writer.mode).toBe('in-process');
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.append({
            time: new Date(Date.UTC(2026, 10, 25, 0, 0, i)),
            tenant: 'acme',
            user: 'u',
            server: 's',
            method: 'tools/call',
            decision: 'allow',
            configVersion: 'v',
            outcome: 'ok',
            durationMs: 1,
            requestBytes: 1,
            responseBytes: 1,
          }),
        ),
      );
      const report = await store.verify();
      expect(report).toMatchObject({ ok: true, tenants: [{ tenant: 'acme', events: 20, lastSeq: 20 }] });
    } finally {
      await store.close();
    }
  });
});
