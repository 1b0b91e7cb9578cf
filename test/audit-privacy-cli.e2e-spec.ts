// The built `atom-gov` binary on an encrypted, PII-redacted trail (master key from ATOM_GOV_MASTER_KEY): the
// investigation flags, `audit show`, `tenants keys`, `tenants forget` (GDPR erasure) and `audit verify` afterwards.
// Needs `npm run build` (scripts/setup.sh does it before the suite).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type AuditEventInput, openConfiguredAuditStore } from '@atom-gov/audit';

const bin = resolve('apps/cli/bin/atom-gov.js');
const built = resolve('apps/cli/dist/commands/tenants.command.js');
const masterKey = randomBytes(32).toString('hex');
let dir: string;

function atomGov(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ATOM_GOV_MASTER_KEY: masterKey };
  return promisify(execFile)(process.execPath, [bin, ...args], { encoding: 'utf8', env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

const at = (s: number) => new Date(Date.now() - 3_600_000 + s * 1000);
function record(s: number, intent: string, fields: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    time: at(s),
    tenant: 'acme',
    user: 'dev@acme.test',
    server: 'cloudflare_mcp',
    method: 'tools/call',
    target: 'dns_record_delete',
    decision: 'governed',
    policy: 'production_writes',
    rules: ['production_writes'],
    configVersion: 'v1',
    intent,
    outcome: 'ok',
    durationMs: 0,
    requestBytes: 0,
    responseBytes: 0,
    argsSummary: '{"zone":"example.com","owner":"jane.doe@example.com"}',
    operationId: 'op-0123456789abcdef0123',
    ...fields,
  };
}

beforeAll(async () => {
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` before the e2e tests`);
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-privacy-e2e-'));
  writeFileSync(
    join(dir, 'mcp-governance.yaml'),
    'atom_gov:\n  version: 1.0.0\n  servers: []\n  audit:\n    encrypt: true\n    pii_redaction: true\n',
  );
  const store = await openConfiguredAuditStore({
    sqlitePath: join(dir, 'data', 'audit.sqlite'),
    dataDir: join(dir, 'data'),
    encrypt: true,
    piiRedaction: true,
    masterKey,
  });
  for (const r of [
    record(0, 'requested: governed by production_writes'),
    record(60, 'vote: approve by alice@acme.test via slack: CHG-7'),
    record(61, 'decided: approved by alice@acme.test', { decision: 'allow' }),
    record(65, 'outcome: succeeded', { decision: 'allow', durationMs: 830, resultSummary: 'deleted 1 record' }),
    record(70, 'list zones', { tenant: 'globex', target: 'zones_list', decision: 'allow', operationId: undefined }),
  ]) {
    await store.append(r);
  }
  await store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atom-gov on an encrypted audit trail', () => {
  const common = () => ['--config', join(dir, 'mcp-governance.yaml'), '--data-dir', join(dir, 'data')];

  it('audit show tells the operation story with decrypted, redacted arguments', async () => {
    const { code, stdout, stderr } = await atomGov('audit', 'show', 'op-0123456789abcdef0123', ...common());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('arguments {"zone":"example.com","owner":"[REDACTED:email]"}');
    expect(stdout).toMatch(/approve by alice@acme\.test via slack: CHG-7/);
    expect(stdout).toMatch(/ok in 830 ms/);
    expect(stdout).toContain('Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/op-0123456789abcdef0123');
  }, 180_000);

  it('filters with the investigation flags and pages with a cursor', async () => {
    const first = await atomGov(
      'audit',
      ...common(),
      '--tool',
      'dns_record_delete',
      '--limit',
      '3',
      '--format',
      'jsonl',
    );
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(3);
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const rest = await atomGov(
      'audit',
      ...common(),
      '--tool',
      'dns_record_delete',
      '--cursor',
      cursor!,
      '--format',
      'jsonl',
    );
    expect(rest.stdout.trim().split('\n')).toHaveLength(1);
    const hostile = await atomGov('audit', ...common(), '--search', "%' OR 1=1 --");
    expect(hostile.stdout).toBe('No audit events match.\n');
    const bad = await atomGov('audit', ...common(), '--outcome', 'maybe');
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining("--outcome 'maybe' is not one of") });
  }, 180_000);

  it('tenants forget erases one tenant by crypto-shredding; the chain still verifies', async () => {
    const keys = await atomGov('tenants', 'keys', ...common());
    expect(keys.stdout).toMatch(/acme .*active/);
    expect(keys.stdout).toMatch(/globex .*active/);
    const noTty = await atomGov('tenants', 'forget', 'acme', ...common());
    expect(noTty).toMatchObject({ code: 2, stderr: expect.stringContaining('confirm with --yes') });
    const forget = await atomGov('tenants', 'forget', 'acme', '--yes', ...common());
    expect(forget).toMatchObject({ code: 0, stdout: expect.stringContaining("Tenant 'acme': destroyed 1 data key") });
    const after = await atomGov(
      'audit',
      ...common(),
      '--tenant',
      'acme',
      '--tool',
      'dns_record_delete',
      '--format',
      'jsonl',
    );
    const args = after.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { argsSummary: string }).argsSummary);
    expect(args).toEqual(['[erased]', '[erased]', '[erased]', '[erased]']);
    const globex = await atomGov('audit', ...common(), '--tenant', 'globex', '--format', 'jsonl');
    expect(globex.stdout).toContain('[REDACTED:email]');
    const verify = await atomGov('audit', 'verify', ...common());
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/tenant acme: OK, 5 events/);
  }, 180_000);
});
