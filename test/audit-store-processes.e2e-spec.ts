// Several processes (gateway, worker, CLI) opening one new audit database at the same moment: exactly one runs the
// migrations, the others wait for it, and every process can append. Uses the built library (`npm run build`).
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createDataSource } from '@atom-gov/audit';

const built = resolve('libs/audit/dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-procs-'));
const dropDatabases: Array<() => Promise<void>> = [];

// Each child opens the store, appends one event and closes; it prints ok or the error message.
const child = `
const { openAuditStore } = await import(process.env.AUDIT_LIB);
const store = await openAuditStore({ sqlitePath: process.env.AUDIT_SQLITE, databaseUrl: process.env.AUDIT_PG || undefined });
await store.append({ time: new Date(), tenant: 't', user: 'u', server: 's', method: 'tools/call', decision: 'allow',
  configVersion: 'v', outcome: 'ok', durationMs: 1, requestBytes: 1, responseBytes: 1 });
await store.close();
console.log('ok');
`;

async function openConcurrently(
  env: { AUDIT_SQLITE: string; AUDIT_PG?: string },
  processes: number,
): Promise<string[]> {
  const run = promisify(execFile);
  return Promise.all(
    Array.from({ length: processes }, () =>
      run(process.execPath, ['--input-type=module', '-e', child], {
        env: { ...process.env, AUDIT_LIB: built, ...env },
        encoding: 'utf8',
      }).then(
        ({ stdout }) => stdout.trim(),
        (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`.trim(),
      ),
    ),
  );
}

afterAll(async () => {
  await Promise.all(dropDatabases.map((drop) => drop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('audit store opened by several processes at once', () => {
  it('migrates a new SQLite file once', async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` before the e2e tests`);
    for (let round = 0; round < 3; round += 1) {
      const results = await openConcurrently({ AUDIT_SQLITE: join(dir, `round-${round}`, 'audit.sqlite') }, 4);
      expect(results).toEqual(['ok', 'ok', 'ok', 'ok']);
    }
  });

  it('migrates a new PostgreSQL database once', async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` before the e2e tests`);
    const adminUrl = process.env.ATOM_GOV_TEST_PG_URL;
    if (!adminUrl) throw new Error('ATOM_GOV_TEST_PG_URL is not set: the Jest global setup starts PostgreSQL');
    const admin = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
    const name = `audit_procs_${randomUUID().replaceAll('-', '')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    dropDatabases.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    });
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const results = await openConcurrently({ AUDIT_SQLITE: '', AUDIT_PG: url.toString() }, 4);
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok']);
  });
});
