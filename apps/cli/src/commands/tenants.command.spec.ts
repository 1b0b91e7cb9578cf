import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEventInput, createDataSource, openAuditStore, openConfiguredAuditStore } from '@atom-gov/audit';
import { CliError } from '../run-cli.js';
import { auditCommand } from './audit.command.js';
import {
  type TenantsIo,
  tenantsForgetCommand,
  tenantsKeysCommand,
  tenantsRewrapCommand,
  tenantsRotateKeyCommand,
} from './tenants.command.js';

function event(tenant: string, argsSummary: string): AuditEventInput {
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
    durationMs: 2,
    requestBytes: 10,
    responseBytes: 10,
    argsSummary,
    errorMessage: `no such file in ${tenant}`,
  };
}

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('atom-gov tenants on %s', (_name, usePostgres) => {
  const masterKey = randomBytes(32).toString('hex');
  const env = { ...process.env, ATOM_GOV_MASTER_KEY: masterKey };
  let dir: string;
  let configPath: string;
  let dbOpts: { databaseUrl?: string; sqlitePath: string };
  let dropDatabase: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-tenants-'));
    configPath = join(dir, 'mcp-governance.yaml');
    dbOpts = { sqlitePath: join(dir, 'data', 'audit.sqlite') };
    let database = '';
    if (usePostgres) {
      const adminUrl = process.env.ATOM_GOV_TEST_PG_URL;
      if (!adminUrl) throw new Error('ATOM_GOV_TEST_PG_URL is not set: the Jest global setup starts PostgreSQL');
      const name = `tenants_${randomUUID().replaceAll('-', '')}`;
      const admin = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
      await admin.query(`CREATE DATABASE ${name}`);
      dropDatabase = async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.destroy();
      };
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      dbOpts.databaseUrl = url.toString();
      database = `  database:\n    url: ${dbOpts.databaseUrl}\n`;
    }
    writeFileSync(configPath, `atom_gov:\n  version: 1.0.0\n  servers: []\n  audit:\n    encrypt: true\n${database}`);
    const store = await openConfiguredAuditStore({
      ...dbOpts,
      dataDir: join(dir, 'data'),
      encrypt: true,
      piiRedaction: false,
      masterKey,
    });
    for (const tenant of ['acme', 'globex']) {
      for (let i = 0; i < 3; i += 1) await store.append(event(tenant, `{"path":"/${tenant}/${i}.txt"}`));
    }
    await store.close();
  });

  afterAll(async () => {
    await dropDatabase?.();
    rmSync(dir, { recursive: true, force: true });
  });

  function io(answer?: string): TenantsIo & { out: () => string } {
    let stdout = '';
    return {
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      ...(answer !== undefined ? { ask: () => Promise.resolve(answer) } : {}),
      env,
      out: () => stdout,
    };
  }
  const opts = () => ({ config: configPath, dataDir: join(dir, 'data') });

  async function argsOf(tenant: string): Promise<string[]> {
    let stdout = '';
    await auditCommand(
      { ...opts(), tenant, format: 'jsonl' },
      [],
      { stdout: (t) => (stdout += t), stderr: () => undefined },
      env,
    );
    return stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argsSummary?: string; errorMessage?: string; method: string })
      .filter((e) => e.method === 'tools/call')
      .map((e) => `${e.argsSummary} | ${e.errorMessage}`);
  }

  it('rotate-key starts a new key; old and new events read back', async () => {
    const out = io();
    await tenantsRotateKeyCommand('globex', opts(), out);
    expect(out.out()).toMatch(/Tenant 'globex': new data key k[0-9a-f]{16}/);
    const keys = io();
    await tenantsKeysCommand('globex', { ...opts(), format: 'json' }, keys);
    const list = JSON.parse(keys.out()) as Array<{ retiredAt?: string }>;
    expect(list).toHaveLength(2);
    expect(list[0]?.retiredAt).toBeDefined();
    expect(await argsOf('globex')).toContain('{"path":"/globex/0.txt"} | no such file in globex');
  });

  it('forget asks for the tenant name and does nothing unless it is typed', async () => {
    await expect(tenantsForgetCommand('acme', opts(), io('yes'))).rejects.toThrow(
      new CliError('not confirmed: nothing was erased', 1),
    );
    await expect(tenantsForgetCommand('acme', opts(), io())).rejects.toThrow(/confirm with --yes/);
    expect(await argsOf('acme')).toContain('{"path":"/acme/1.txt"} | no such file in acme');
  });

  it('forget crypto-shreds one tenant: [erased] on read, audited, other tenants intact, chain still verifies', async () => {
    const out = io('acme');
    await tenantsForgetCommand('acme', opts(), out);
    expect(out.out()).toMatch(/Tenant 'acme': destroyed 1 data key\. .*read \[erased\]/);
    expect(await argsOf('acme')).toEqual(['[erased] | [erased]', '[erased] | [erased]', '[erased] | [erased]']);
    expect(await argsOf('globex')).toHaveLength(3);
    expect((await argsOf('globex')).every((a) => a.startsWith('{"path":"/globex/'))).toBe(true);

    const store = await openAuditStore(dbOpts);
    try {
      const [erasure] = await store.query({ tenant: 'acme', text: 'GDPR erasure' });
      expect(erasure?.method).toBe('tenants/forget');
      expect(erasure?.user).toMatch(/^operator:/);
      const report = await store.verify({ tenant: 'acme' });
      const acme = report.tenants.find((t) => t.tenant === 'acme');
      // Three calls and the erasure record, hashed over the ciphertext that is still stored.
      expect(acme?.events).toBe(4);
      expect(acme?.problems).toEqual([]);
    } finally {
      await store.close();
    }
    const again = io();
    await tenantsForgetCommand('acme', { ...opts(), yes: true }, again);
    expect(again.out()).toContain("Tenant 'acme' has no live data keys: nothing to erase.");
  });

  it('rewrap rotates the master key: old key no longer opens, new one does', async () => {
    const file = join(dir, 'next.key');
    const nextKey = randomBytes(32).toString('hex');
    writeFileSync(file, nextKey, { mode: 0o600 });
    const out = io();
    await tenantsRewrapCommand({ ...opts(), newMasterKeyFile: file }, out);
    expect(out.out()).toMatch(/^Re-wrapped \d+ data keys? under master key [0-9a-f]{16}\./);
    // With the old key the fields cannot be opened: each says why instead of failing the whole listing.
    expect((await argsOf('globex'))[0]).toMatch(
      /^\[unreadable: data key k[0-9a-f]{16} of tenant 'globex' is wrapped by master key/,
    );
    env.ATOM_GOV_MASTER_KEY = nextKey;
    expect((await argsOf('globex')).every((a) => a.startsWith('{"path":"/globex/'))).toBe(true);
    await expect(tenantsRewrapCommand(opts(), io())).rejects.toThrow(/--new-master-key-file FILE/);
  });

  it('explains when there is no master key at all', async () => {
    const noKey = { ...io(), env: { ...process.env, ATOM_GOV_MASTER_KEY: undefined } };
    const bare = mkdtempSync(join(tmpdir(), 'atom-gov-tenants-nokey-'));
    try {
      await expect(tenantsKeysCommand(undefined, { config: configPath, dataDir: bare }, noKey)).rejects.toThrow(
        /no master key found .* Enable `audit: \{ encrypt: true \}` first/,
      );
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
