// Several processes (gateways, workers) appending to one audit database at the same time, some of them the same
// events (retries): every tenant's chain stays gapless and verifies, and each distinct event is stored once.
// Uses the built library (`npm run build`).
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createDataSource, openAuditStore } from '@atom-gov/audit';

const built = resolve('libs/audit/dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'atom-gov-chain-procs-'));
const cleanups: Array<() => Promise<void>> = [];
const PROCESSES = 4;
const SHARED = 500;
const OWN = 1500;
const TENANTS = ['acme', 'globex', 'initech'];

// Each child appends the shared events (same ids in every child) and its own, 200 in flight at a time.
const child = `
const { openAuditStore } = await import(process.env.AUDIT_LIB);
const shared = JSON.parse(process.env.SHARED_IDS);
const store = await openAuditStore({ sqlitePath: process.env.AUDIT_SQLITE, databaseUrl: process.env.AUDIT_PG || undefined });
const tenants = ${JSON.stringify(TENANTS)};
const ids = [...shared, ...Array.from({ length: ${OWN} }, () => crypto.randomUUID())];
const event = (id, i) => ({ id, time: new Date(Date.UTC(2026, 10, 24) + i), tenant: tenants[id.charCodeAt(0) % tenants.length],
  user: 'u', server: 's', method: 'tools/call', decision: 'allow', configVersion: 'v', outcome: 'ok',
  durationMs: 1, requestBytes: 1, responseBytes: 1 });
let next = 0;
await Promise.all(Array.from({ length: 200 }, async () => { while (next < ids.length) { const i = next++; await store.append(event(ids[i], i)); } }));
await store.close();
console.log('ok');
`;

async function runWriters(env: { AUDIT_SQLITE: string; AUDIT_PG?: string }): Promise<string[]> {
  const run = promisify(execFile);
  const shared = Array.from({ length: SHARED }, () => randomUUID());
  return Promise.all(
    Array.from({ length: PROCESSES }, () =>
      run(process.execPath, ['--input-type=module', '-e', child], {
        env: { ...process.env, AUDIT_LIB: built, SHARED_IDS: JSON.stringify(shared), ...env },
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      }).then(
        ({ stdout }) => stdout.trim(),
        (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`.trim(),
      ),
    ),
  );
}

async function expectOneGaplessChainPerTenant(opts: { sqlitePath: string; databaseUrl?: string }): Promise<void> {
  const store = await openAuditStore(opts);
  try {
    const report = await store.verify();
    expect(report.tenants.flatMap((t) => t.problems)).toEqual([]);
    expect(report.tenants.map((t) => t.tenant)).toEqual(TENANTS.slice().sort());
    for (const t of report.tenants) expect([t.startSeq, t.lastSeq]).toEqual([1, t.events]);
    expect(report.tenants.reduce((n, t) => n + t.events, 0)).toBe(SHARED + PROCESSES * OWN);
  } finally {
    await store.close();
  }
}

afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
  rmSync(dir, { recursive: true, force: true });
});

describe('audit chain written by several processes at once', () => {
  it('stays gapless and verifies on SQLite', async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` before the e2e tests`);
    const sqlitePath = join(dir, 'audit.sqlite');
    expect(await runWriters({ AUDIT_SQLITE: sqlitePath })).toEqual(Array(PROCESSES).fill('ok'));
    await expectOneGaplessChainPerTenant({ sqlitePath });
  }, 120_000);

  it('stays gapless and verifies on PostgreSQL (chain heads locked FOR UPDATE)', async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` before the e2e tests`);
    const adminUrl = process.env.ATOM_GOV_TEST_PG_URL;
    if (!adminUrl) throw new Error('ATOM_GOV_TEST_PG_URL is not set: the Jest global setup starts PostgreSQL');
    const admin = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
    const name = `chain_procs_${randomUUID().replaceAll('-', '')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    });
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    expect(await runWriters({ AUDIT_SQLITE: '', AUDIT_PG: url.toString() })).toEqual(Array(PROCESSES).fill('ok'));
    await expectOneGaplessChainPerTenant({ sqlitePath: '', databaseUrl: url.toString() });
  }, 120_000);
});
