// Test helper (not exported from the package): audit events with distinct ids and increasing times, per-test temp
// dirs and stores closed after each test, SQLite made unavailable the way another process would make it, and a
// scratch PostgreSQL database on the suite's server.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from '@jest/globals';
import { type DataSource } from 'typeorm';
import { type AuditEventInput } from './audit-event.js';
import { createDataSource } from './data-source.js';

let n = 0;
/** A valid tools/call event of tenant acme; each call gets a new id, a time 1 ms later and its own argsSummary. */
export function auditEvent(fields: Partial<AuditEventInput> = {}): AuditEventInput & { id: string } {
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

export interface PerTestScratch {
  /** A fresh temp dir, removed after the test. */
  tempDir(prefix?: string): string;
  /** Closes the store after the test (errors ignored: the test may have closed it already). */
  track<S extends { close(): Promise<void> }>(store: S): S;
  /** Runs `cleanup` after the test; cleanups run last registered first. */
  defer(cleanup: () => Promise<unknown> | unknown): void;
}

/** Call at the top of a spec file: what each test registers is undone after it (`afterEach`). */
export function perTestScratch(): PerTestScratch {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    tempDir(prefix = 'atom-gov-audit-spec-') {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    track(store) {
      cleanups.push(() => store.close().catch(() => undefined));
      return store;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/**
 * Another connection takes SQLite's write lock (BEGIN IMMEDIATE) and holds it until `release()`: a store whose busy
 * timeout is shorter fails its write transactions. (Permissions cannot make a path unwritable: tests may run as root.)
 * `release()` is idempotent.
 */
export async function holdSqliteWriteLock(
  sqlitePath: string,
  timeoutMs: number,
): Promise<{ release(): Promise<void> }> {
  const locker: DataSource = await createDataSource({ sqlitePath, timeoutMs }).initialize();
  await locker.query('BEGIN IMMEDIATE');
  return {
    async release() {
      if (!locker.isInitialized) return;
      await locker.query('ROLLBACK');
      await locker.destroy();
    },
  };
}

/** An empty PostgreSQL database of its own on the suite's server (test/setup/postgres.ts), dropped by `dispose()`. */
export interface ScratchPostgres {
  /** The database's name: the prefix and a uuid's hex, so safe to splice into SQL. */
  readonly name: string;
  /** Store / data-source options that open it (no SQLite path). */
  readonly opts: { databaseUrl: string; sqlitePath: string };
  /** Runs a statement on the server's maintenance connection, e.g. `ALTER DATABASE <name> ...`. */
  admin(sql: string, params?: unknown[]): Promise<unknown>;
  /** Drops the database, cutting its open connections (WITH FORCE), and closes the maintenance connection. */
  dispose(): Promise<void>;
}

/** Creates a fresh database named `<prefix>_<hex>` on the PostgreSQL that the Jest global setup started. */
export async function scratchPostgres(prefix: string): Promise<ScratchPostgres> {
  const adminUrl = process.env.ATOM_GOV_TEST_PG_URL;
  if (!adminUrl) {
    throw new Error(
      'ATOM_GOV_TEST_PG_URL is not set: the Jest global setup (test/setup/postgres.ts) starts PostgreSQL',
    );
  }
  const name = `${prefix}_${randomUUID().replaceAll('-', '')}`;
  const admin: DataSource = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
  await admin.query(`CREATE DATABASE ${name}`).catch(async (err: unknown) => {
    await admin.destroy();
    throw err;
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    opts: { databaseUrl: url.toString(), sqlitePath: '' },
    admin: (sql, params) => admin.query(sql, params),
    async dispose() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    },
  };
}
