// The seed's report lines as a user types them, through bash, against the built CLI: `atom-gov costs --server
// perplexity_mcp --period month`, `atom-gov export --format json --encrypt --output audit-$(date +%Y%m%d).json.gpg`
// (opened with Debian's gpg) and `atom-gov compliance-report --format pdf` (read back with poppler). The audit
// store is real SQLite written through @atom-gov/audit. Needs `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type AuditEventInput, openAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { FIXTURE_CONFIG, fixtureEvents } from '../libs/reports/src/report-fixtures.js';
import { SECTION_TITLES } from '@atom-gov/reports';
import { parse } from 'csv-parse/sync';

const bin = resolve('apps/cli/bin/atom-gov.js');

let dir: string;
let gnupg: string;
let env: Record<string, string>;
let stored: number;

/** Runs a shell line as typed, with `atom-gov` on PATH. */
function sh(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)('bash', ['-c', line], { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 << 20 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-reports-e2e-'));
  gnupg = join(dir, 'gnupg');
  const binDir = join(dir, 'bin');
  execFileSync('mkdir', ['-p', binDir, gnupg]);
  execFileSync('chmod', ['700', gnupg]);
  writeFileSync(join(binDir, 'atom-gov'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'mcp-governance.yaml'), FIXTURE_CONFIG);
  env = {
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    HOME: dir,
    GNUPGHOME: gnupg,
    ATOM_GOV_CONFIG: join(dir, 'mcp-governance.yaml'),
    ATOM_GOV_DATA_DIR: join(dir, 'data'),
  };
  const config = await loadConfig({ configPath: env.ATOM_GOV_CONFIG, dataDir: env.ATOM_GOV_DATA_DIR, env });
  const events: AuditEventInput[] = fixtureEvents(config.version);
  // This month's calls, so `--period month` (the current month) has something to charge.
  const now = Date.now();
  for (let i = 0; i < 6; i++) {
    events.push({
      id: randomUUID(),
      time: new Date(now - (i + 1) * 60_000),
      tenant: i % 2 ? 'acme' : 'globex',
      user: 'erin@example.com',
      server: 'perplexity_mcp',
      method: 'tools/call',
      target: i === 0 ? 'deep_research' : 'search',
      decision: 'allow',
      outcome: 'ok',
      configVersion: config.version,
      durationMs: 4000,
      requestBytes: 512,
      responseBytes: 512,
      argsSummary: i === 1 ? '=HYPERLINK("http://evil.example","click")' : '{"q":"mcp"}',
    });
  }
  const store = await openAuditStore({ sqlitePath: config.database.sqlitePath });
  await Promise.all(events.map((e) => store.append(e)));
  await store.close();
  stored = events.length;
  execFileSync(
    'gpg',
    [
      '--batch',
      '--quick-gen-key',
      '--passphrase',
      '',
      'Ops Auditor <auditor@example.com>',
      'ed25519',
      'cert,sign',
      'never',
    ],
    {
      env,
      stdio: 'pipe',
    },
  );
  const fpr = /fpr:+([0-9A-F]{40}):/.exec(
    execFileSync('gpg', ['--batch', '--with-colons', '--list-keys', 'auditor@example.com'], { env, encoding: 'utf8' }),
  )![1]!;
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-add-key', fpr, 'cv25519', 'encr', 'never'], {
    env,
    stdio: 'pipe',
  });
  writeFileSync(join(dir, 'auditor.asc'), execFileSync('gpg', ['--batch', '--armor', '--export', fpr], { env }));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atom-gov costs', () => {
  it('runs the seed line: this month, perplexity_mcp, per tenant and tool with budgets', async () => {
    const r = await sh('atom-gov costs --server perplexity_mcp --period month');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Costs for \d{4}-\d{2}-01 to \d{4}-\d{2}-\d{2} \(month\), server perplexity_mcp, in USD/);
    // acme: 3 searches (4 s, 1 KB each): 3 x (0.01 + 2.0 + 0.001) = 6.033
    expect(r.stdout).toMatch(/acme\s+perplexity_mcp\s+search\s+3\s+12\.0\s+3\.0\s+0\s+6\.0330/);
    // globex: deep_research (0.1 + 2.0 + 0.001) and 2 searches (4.022)
    expect(r.stdout).toMatch(/globex\s+3\s+6\.1230\s+100\/month\s+6\.1%\s+OK/);
    expect(r.stdout).toMatch(/acme\s+3\s+6\.0330\s+1\/month\s+603\.3%\s+OVER/);
  });

  it('gives CSV for a named month and refuses an unknown period with exit 2', async () => {
    const csv = await sh('atom-gov costs --period 2026-10 --tenant acme --format csv');
    expect(csv.code).toBe(0);
    const rows = parse(csv.stdout, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((x) => [x.tool, x.calls])).toEqual([
      ['search', '10'],
      ['deep_research', '2'],
      ['workers.deploy', '1'],
    ]);
    const bad = await sh('atom-gov costs --period quarter');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "atom-gov: period 'quarter' is not one of: day, week, month (the current one, UTC), a month such as 2026-10, or a day such as 2026-10-31\n",
    );
  });
});

describe('atom-gov export', () => {
  it('runs the seed line: encrypted JSON that gpg --decrypt opens, to the own GnuPG key by default', async () => {
    const r = await sh('atom-gov export --format json --encrypt --output audit-$(date +%Y%m%d).json.gpg');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = readdirSync(dir).find((f) => /^audit-\d{8}\.json\.gpg$/.test(f))!;
    expect(r.stdout).toContain(`Exported ${stored} audit events to ${file} (json`);
    expect(r.stdout).toContain('OpenPGP-encrypted to Ops Auditor <auditor@example.com>');
    const plain = execFileSync('gpg', ['--batch', '--decrypt', join(dir, file)], {
      env,
      stdio: 'pipe',
      maxBuffer: 64 << 20,
    });
    const events = JSON.parse(plain.toString()) as Array<{ time: string; tenant: string }>;
    expect(events).toHaveLength(stored);
    const times = events.map((e) => e.time);
    expect(times).toEqual([...times].sort());
    // Running it again the same day would overwrite the export: refused unless --force.
    const again = await sh('atom-gov export --format json --encrypt --output audit-$(date +%Y%m%d).json.gpg');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists: choose another --output or pass --force');
  });

  it('encrypts to --recipient key files and filters by tenant and time; CSV cells cannot run formulas', async () => {
    const r = await sh(
      'atom-gov export --format csv --tenant acme --since 2026-11-01 --recipient auditor.asc --output acme.csv.gpg',
    );
    expect(r.code).toBe(0);
    const csv = execFileSync('gpg', ['--batch', '--decrypt', join(dir, 'acme.csv.gpg')], {
      env,
      stdio: 'pipe',
    }).toString();
    const rows = parse(csv, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((x) => x.tenant)).toEqual(['acme', 'acme', 'acme']);
    expect(rows.map((x) => x.argsSummary)).toContain(`'=HYPERLINK("http://evil.example","click")`);
  });

  it('names what is wrong: a bad key file, an unknown format, a missing --output', async () => {
    writeFileSync(join(dir, 'not-a-key.asc'), 'hello');
    const badKey = await sh('atom-gov export --recipient not-a-key.asc --output x.gpg');
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/^atom-gov: not-a-key\.asc is not an OpenPGP public key/);
    const badFormat = await sh('atom-gov export --format xml --output x.xml');
    expect(badFormat).toMatchObject({ code: 2, stderr: "atom-gov: --format 'xml' is not one of: json, jsonl, csv\n" });
    const noOutput = await sh('atom-gov export --format json');
    expect(noOutput.stderr).toContain('--output FILE is required');
    expect(readdirSync(dir).filter((f) => f.startsWith('x.'))).toEqual([]);
  });
});

describe('atom-gov compliance-report', () => {
  it('runs the seed line: a PDF whose pages poppler renders, with every section', async () => {
    const r = await sh('atom-gov compliance-report --format pdf');
    expect(r.code).toBe(0);
    const file = readdirSync(dir).find((f) => /^atom-gov-compliance-\d{4}-\d{2}\.pdf$/.test(f))!;
    expect(r.stderr).toContain(`to ${file}`);
    const text = execFileSync('pdftotext', ['-layout', join(dir, file), '-'], { encoding: 'utf8' });
    for (const title of SECTION_TITLES) expect(text).toContain(title);
    execFileSync('pdftoppm', ['-png', '-r', '40', join(dir, file), join(dir, 'page')]);
    expect(readdirSync(dir).filter((f) => /^page-\d+\.png$/.test(f)).length).toBeGreaterThanOrEqual(2);
  });

  it('writes JSON, Markdown and HTML for a named month, tenant and framework', async () => {
    const json = await sh('atom-gov compliance-report --format json --period 2026-10 --tenant acme --framework soc2');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      framework: { id: string };
      summary: { calls: number };
      approvals: { total: number };
      integrity: { status: string };
    };
    expect(report).toMatchObject({ framework: { id: 'soc2' }, summary: { calls: 14 }, approvals: { total: 2 } });
    expect(report.integrity.status).toBe('verified');
    const md = await sh('atom-gov compliance-report --format md --period 2026-10 --output report.md');
    expect(md.code).toBe(0);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('## 4. Approvals');
    const html = await sh('atom-gov compliance-report --format html --period 2026-10');
    expect(html.stdout).toMatch(/^<!doctype html>/);
    const bad = await sh('atom-gov compliance-report --framework iso27001');
    expect(bad).toMatchObject({
      code: 2,
      stderr: "atom-gov: --framework 'iso27001' is not one of: soc2, hipaa, gdpr\n",
    });
  });
});
