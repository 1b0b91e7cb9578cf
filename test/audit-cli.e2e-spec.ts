// `atom-gov audit` as a user runs it: the built CLI as a child process, on a config whose SQLite audit store holds
// events written through @atom-gov/audit. Needs `npm run build` (scripts/setup.sh does it before the suite).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type AuditEventInput, openAuditStore } from '@atom-gov/audit';
import { parse } from 'csv-parse/sync';

const bin = resolve('apps/cli/bin/atom-gov.js');
const built = resolve('apps/cli/dist/commands/audit.command.js');

let dir: string;
let configPath: string;
const base = {
  tenant: 'acme',
  user: 'alice',
  method: 'tools/call',
  configVersion: 'v1',
  durationMs: 5,
  requestBytes: 10,
  responseBytes: 20,
} as const;
const events: Array<AuditEventInput & { id: string }> = [
  {
    ...base,
    id: '5f0c6a3e-9a8b-4c1d-8e2f-0a1b2c3d4e5f',
    time: new Date(Date.now() - 60_000),
    server: 'cloudflare_mcp',
    target: 'dns_records_list',
    decision: 'allow',
    outcome: 'ok',
    argsSummary: '{"zone":"example.com","note":"a, \\"quoted\\" value"}',
  },
  {
    ...base,
    id: '6a1d7b4f-0b9c-4d2e-9f30-1b2c3d4e5f60',
    time: new Date(Date.now() - 120_000),
    server: 'cloudflare_mcp',
    target: 'zone_delete',
    decision: 'deny',
    policy: 'no-destructive',
    outcome: 'denied',
  },
  {
    ...base,
    id: '7b2e8c50-1cad-4e3f-a041-2c3d4e5f6071',
    time: new Date(Date.now() - 3 * 24 * 3600_000),
    server: 'cloudflare_mcp',
    decision: 'allow',
    outcome: 'ok',
  },
];

function atomGov(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [bin, ...args], { encoding: 'utf8' }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

beforeAll(async () => {
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` before the e2e tests`);
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-e2e-'));
  configPath = join(dir, 'mcp-governance.yaml');
  writeFileSync(configPath, 'atom_gov:\n  version: 1.0.0\n  servers: []\n');
  const store = await openAuditStore({ sqlitePath: join(dir, 'data', 'audit.sqlite') });
  await Promise.all(events.map((e) => store.append(e)));
  await store.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('atom-gov audit', () => {
  const common = () => ['audit', '--config', configPath, '--data-dir', join(dir, 'data')];

  it('shows the last 24 hours of one server as a table (the seed example)', async () => {
    const { code, stdout, stderr } = await atomGov(...common(), '--server', 'cloudflare_mcp', '--last', '24h');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+TENANT\s+USER\s+SERVER/);
    expect(lines[1]).toMatch(/cloudflare_mcp\s+tools\/call\s+dns_records_list\s+allow\s+ok/);
    expect(lines[2]).toMatch(/zone_delete\s+deny\s+denied\s+5\s+no-destructive$/);
    expect(lines[3]).toBe('2 events, newest first');
  });

  it('writes CSV a parser reads back', async () => {
    const { code, stdout } = await atomGov(...common(), '--format', 'csv', '--decision', 'allow');
    expect(code).toBe(0);
    const rows = parse(stdout, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.id)).toEqual([events[0]?.id, events[2]?.id]);
    expect(rows[0]?.argsSummary).toBe(events[0]?.argsSummary);
  });

  it.each([
    [['--last', '3', 'days'], /^atom-gov: --last: invalid duration '3'/],
    [['--format', 'xml'], /^atom-gov: --format 'xml' is not one of: table, json, jsonl, csv/],
    [['--limit', '-1'], /^atom-gov: --limit '-1' must be a whole number from 1 to 100000/],
  ])('rejects %j with one clear line and exit code 2', async (args, message) => {
    const { code, stdout, stderr } = await atomGov(...common(), ...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
