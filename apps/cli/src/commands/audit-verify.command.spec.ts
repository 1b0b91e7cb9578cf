import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditChainOptions, createDataSource, openAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { Command } from 'commander';
import { CliError, runCli } from '../run-cli.js';
import { type AuditVerifyOptions, auditVerifyCommand } from './audit-verify.command.js';
import { registerCommands } from './index.js';

describe('atom-gov audit verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-verify-'));
  const configPath = join(dir, 'mcp-governance.yaml');
  const dataDir = join(dir, 'data');

  const run = async (opts: AuditVerifyOptions = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await auditVerifyCommand(
      { config: configPath, dataDir, ...opts },
      { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
      {},
    );
    return { code, stdout, stderr };
  };

  beforeAll(async () => {
    writeFileSync(
      configPath,
      'atom_gov:\n  version: 1.0.0\n  servers: []\n  audit:\n    checkpoint_file: ./checkpoints.jsonl\n',
    );
    const config = await loadConfig({ configPath, dataDir, env: {} });
    const store = await openAuditStore({ sqlitePath: config.database.sqlitePath, ...auditChainOptions(config.audit) });
    for (const tenant of ['acme', 'globex']) {
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.append({
            id: randomUUID(),
            time: new Date(Date.UTC(2026, 10, 24, 12, i)),
            tenant,
            user: 'alice',
            server: 'cloudflare_mcp',
            method: 'tools/call',
            decision: 'allow',
            configVersion: 'v1',
            outcome: 'ok',
            durationMs: 1,
            requestBytes: 1,
            responseBytes: 1,
          }),
        ),
      );
    }
    await store.close(); // signs the heads on close
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says OK per tenant with the configured key and the checkpoint mirror', async () => {
    const { code, stdout } = await run();
    expect(code).toBe(0);
    expect(stdout).toContain('tenant acme: OK, 5 events (seq 1-5), 1 checkpoint, signed up to seq 5');
    expect(stdout).toMatch(/audit chain OK: 10 events in 2 tenants verified/);
    expect(readFileSync(join(dir, 'checkpoints.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('exports the public key, and a verifier holding only that key agrees', async () => {
    const file = join(dir, 'audit-public.pem');
    const exported = await run({ exportPublicKey: file });
    expect(exported.stdout).toMatch(/wrote the audit checkpoint public key \(key id [0-9a-f]{16}\)/);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const { code, stdout } = await run({ publicKey: file, tenant: 'globex', format: 'json' });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, tenants: [{ tenant: 'globex', events: 5, problems: [] }] });
  });

  it('reports a bad signature against another key and refuses a file that is not a key', async () => {
    const other = join(dir, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const { code, stdout } = await run({ publicKey: other, tenant: 'acme' });
    expect(code).toBe(1);
    expect(stdout).toContain('bad signature: checkpoint');
    writeFileSync(join(dir, 'junk.pem'), 'hello');
    await expect(run({ publicKey: join(dir, 'junk.pem') })).rejects.toThrow(/is not an Ed25519 key in PEM form/);
    await expect(run({ format: 'xml' })).rejects.toThrow(CliError);
  });

  it('takes --threads (a small trail is still checked in one thread) and refuses a bad value', async () => {
    const { code, stdout } = await run({ threads: '2', format: 'json' });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { ok: boolean; threads: number; tenants: Array<{ checkedBy: string }> };
    expect(report).toMatchObject({ ok: true, threads: 0 });
    expect(report.tenants.map((t) => t.checkedBy)).toEqual(['ranges', 'ranges']);
    await expect(run({ threads: 'many' })).rejects.toThrow("--threads 'many' must be a whole number from 0 to 16");
    await expect(run({ threads: '-1' })).rejects.toThrow(CliError);
  });

  it('exits 1 and names the kind when an event was changed, through the real command line', async () => {
    const db = await createDataSource({ sqlitePath: join(dataDir, 'audit.sqlite') }).initialize();
    await db.query("UPDATE audit_events SET user_name = 'mallory' WHERE tenant = 'acme' AND seq = 2");
    await db.destroy();
    const program = new Command('atom-gov');
    registerCommands(program);
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stderr.write;
    try {
      // --tenant after `verify` is parsed by the parent `audit` command: it must still reach verify.
      await runCli(program, [
        'node',
        'atom-gov',
        'audit',
        'verify',
        '--config',
        configPath,
        '--data-dir',
        dataDir,
        '--tenant',
        'acme',
      ]);
    } finally {
      process.stdout.write = write;
      process.stderr.write = err;
    }
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    expect(out).toContain('tenant acme: 1 problem');
    expect(out).toContain('modified: event seq 2');
    expect(out).not.toContain('tenant globex');
    expect(out).toContain('atom-gov: the audit chain does not verify');
  });
});
