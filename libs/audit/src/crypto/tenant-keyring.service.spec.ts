import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataSource } from 'typeorm';
import { type AuditEventInput, type AuditStore, openAuditStore } from '../index.js';
import { scratchPostgres } from '../audit-spec-fixtures.js';
import { openDatabase } from '../audit-store.service.js';
import { type DataSourceOptions } from '../data-source.js';
import { loadMasterKey, MasterKeyError, type MasterKey } from './master-key.js';
import { SealedFieldError, TenantKeyring } from './tenant-keyring.service.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-keys-'));
  dirs.push(dir);
  return dir;
}

describe('loadMasterKey', () => {
  it('generates a 0600 key file in the data dir once, with a warning, and reuses it', () => {
    const dataDir = join(tempDir(), 'data');
    const warnings: string[] = [];
    const first = loadMasterKey({ dataDir, onWarning: (m) => warnings.push(m) });
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Back it up/);
    const again = loadMasterKey({ dataDir, onWarning: (m) => warnings.push(m) });
    expect(again.id).toBe(first.id);
    expect(again.key.equals(first.key)).toBe(true);
    expect(warnings).toHaveLength(1);
  });

  it('takes ATOM_GOV_MASTER_KEY as hex or base64 and refuses anything else by name', () => {
    const raw = randomBytes(32);
    const hex = loadMasterKey({ masterKey: raw.toString('hex'), dataDir: tempDir() });
    const b64 = loadMasterKey({ masterKey: raw.toString('base64'), dataDir: tempDir() });
    expect(hex.key.equals(raw)).toBe(true);
    expect(b64.id).toBe(hex.id);
    expect(() => loadMasterKey({ masterKey: 'secret', dataDir: tempDir() })).toThrow(
      /ATOM_GOV_MASTER_KEY must be 32 random bytes .*openssl rand -hex 32/,
    );
  });

  it('refuses a key file other users can read', () => {
    const file = join(tempDir(), 'master.key');
    writeFileSync(file, randomBytes(32).toString('hex'));
    chmodSync(file, 0o644);
    expect(() => loadMasterKey({ masterKeyFile: file, dataDir: tempDir() })).toThrow(MasterKeyError);
    expect(() => loadMasterKey({ masterKeyFile: file, dataDir: tempDir() })).toThrow(/chmod 600/);
  });
});

interface Db {
  opts: DataSourceOptions;
  dispose(): Promise<void>;
}

function sqliteDb(): Db {
  return { opts: { sqlitePath: join(tempDir(), 'audit.sqlite') }, dispose: () => Promise.resolve() };
}

async function postgresDb(): Promise<Db> {
  return scratchPostgres('keys');
}

function event(tenant: string, fields: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    id: randomUUID(),
    time: new Date(),
    tenant,
    user: 'alice@example.com',
    server: 'files',
    method: 'tools/call',
    target: 'read_file',
    decision: 'allow',
    configVersion: 'c'.repeat(64),
    outcome: 'ok',
    durationMs: 3,
    requestBytes: 10,
    responseBytes: 20,
    ...fields,
  };
}

describe.each([
  ['SQLite', async () => sqliteDb()],
  ['PostgreSQL', postgresDb],
])('TenantKeyring on %s', (_name, makeDb) => {
  let db: Db;
  let master: MasterKey;
  const open: Array<{ dataSource: DataSource }> = [];
  const stores: AuditStore[] = [];
  const keyring = async (opts: { master?: MasterKey; cacheTtlMs?: number } = {}) => {
    const handle = await openDatabase(db.opts);
    open.push(handle);
    return new TenantKeyring(handle.dataSource, handle.driver, opts.master ?? master, {
      ...(opts.cacheTtlMs !== undefined ? { cacheTtlMs: opts.cacheTtlMs } : {}),
    });
  };

  beforeAll(async () => {
    db = await makeDb();
    master = loadMasterKey({ masterKey: randomBytes(32).toString('hex'), dataDir: tempDir() });
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(async () => {
    for (const { dataSource } of open) await dataSource.destroy();
    await db.dispose();
  });

  it('seals as enc:v1:<keyId>:<base64> with a fresh IV and opens it again', async () => {
    const ring = await keyring();
    const a = await ring.seal('acme', '{"path":"/etc/passwd"}');
    const b = await ring.seal('acme', '{"path":"/etc/passwd"}');
    expect(a).toMatch(/^enc:v1:k[0-9a-f]{16}:[A-Za-z0-9+/]+=*$/);
    expect(a).not.toBe(b);
    expect(a.split(':')[2]).toBe(b.split(':')[2]);
    expect(await ring.open('acme', a)).toBe('{"path":"/etc/passwd"}');
    // Another process (its own cache) reads it through the wrapped key in the database.
    expect(await (await keyring()).open('acme', b)).toBe('{"path":"/etc/passwd"}');
  });

  it('gives each tenant its own key and refuses a value moved to another tenant or modified', async () => {
    const ring = await keyring();
    const acme = await ring.seal('acme', 'secret');
    const globex = await ring.seal('globex', 'secret');
    expect(acme.split(':')[2]).not.toBe(globex.split(':')[2]);
    await expect(ring.open('globex', acme)).rejects.toThrow(SealedFieldError);
    const body = Buffer.from(acme.split(':')[3]!, 'base64');
    body[body.length - 1]! ^= 1;
    const tampered = `${acme.split(':').slice(0, 3).join(':')}:${body.toString('base64')}`;
    await expect(ring.open('acme', tampered)).rejects.toThrow(/integrity check/);
  });

  it('rotates: new events use a new key id, old ones still open', async () => {
    const ring = await keyring();
    const before = await ring.seal('rot', 'old');
    const newId = await ring.rotate('rot');
    const after = await ring.seal('rot', 'new');
    expect(after.split(':')[2]).toBe(newId);
    expect(before.split(':')[2]).not.toBe(newId);
    expect(await ring.open('rot', before)).toBe('old');
    const keys = await ring.list('rot');
    expect(keys).toHaveLength(2);
    expect(keys[0]!.retiredAt).toBeInstanceOf(Date);
    expect(keys[1]!.retiredAt).toBeUndefined();
  });

  it('names the master key mismatch instead of failing to decrypt', async () => {
    const ring = await keyring();
    const sealed = await ring.seal('mm', 'x');
    const other = loadMasterKey({ masterKey: randomBytes(32).toString('hex'), dataDir: tempDir() });
    await expect((await keyring({ master: other })).open('mm', sealed)).rejects.toThrow(
      /wrapped by master key [0-9a-f]{16}, but the configured master key .* is [0-9a-f]{16}/,
    );
  });

  it('re-wraps every live key under a new master key; sealed fields open with it, not with the old one', async () => {
    const ring = await keyring();
    const sealed = await ring.seal('rewrap', 'payload');
    const next = loadMasterKey({ masterKey: randomBytes(32).toString('hex'), dataDir: tempDir() });
    expect(await ring.rewrap(next)).toBeGreaterThanOrEqual(1);
    expect(await (await keyring({ master: next, cacheTtlMs: 0 })).open('rewrap', sealed)).toBe('payload');
    await expect((await keyring({ cacheTtlMs: 0 })).open('rewrap', sealed)).rejects.toThrow(/wrapped by master key/);
    master = next;
  });

  it('forget crypto-shreds a tenant: its sealed fields read [erased] through the store, others untouched', async () => {
    const ring = await keyring({ cacheTtlMs: 0 });
    const writer = await openAuditStore(db.opts);
    stores.push(writer);
    const gone = event('gone', { argsSummary: await ring.seal('gone', '{"ssn":"078-05-1120"}'), operationId: 'op-g' });
    const kept = event('kept', { argsSummary: await ring.seal('kept', '{"q":"weather"}') });
    await writer.append(gone);
    await writer.append(kept);
    const reader = await openAuditStore({ ...db.opts, cipher: await keyring({ cacheTtlMs: 0 }) });
    stores.push(reader);
    expect((await reader.query({ tenant: 'gone' }))[0]?.argsSummary).toBe('{"ssn":"078-05-1120"}');

    expect(await ring.forget('gone')).toBe(1);
    expect((await reader.query({ tenant: 'gone' }))[0]?.argsSummary).toBe('[erased]');
    expect((await reader.query({ tenant: 'kept' }))[0]?.argsSummary).toBe('{"q":"weather"}');
    // The stored ciphertext (what the chain hashes) is unchanged; only the key is gone.
    const raw = (await writer.query({ tenant: 'gone' }))[0];
    expect(raw?.argsSummary).toBe(gone.argsSummary);
    const keys = await ring.list('gone');
    expect(keys[0]?.destroyedAt).toBeInstanceOf(Date);
    const handle = await openDatabase(db.opts);
    open.push(handle);
    const rows = (await handle.dataSource.query(
      "SELECT wrapped_key FROM audit_tenant_keys WHERE tenant = 'gone'",
    )) as Array<{ wrapped_key: string | null }>;
    expect(rows).toEqual([{ wrapped_key: null }]);
  });
});
