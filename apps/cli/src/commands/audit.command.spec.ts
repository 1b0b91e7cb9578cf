import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEventInput, createDataSource, openAuditStore } from '@atom-gov/audit';
import { parse } from 'csv-parse/sync';
import { CliError } from '../run-cli.js';
import { type AuditOptions, auditCommand, formatAuditEvents, parseAuditOptions } from './audit.command.js';

const NOW = new Date('2026-11-24T12:00:00.000Z');

function event(overrides: Partial<AuditEventInput> & { time: Date }): AuditEventInput & { id: string } {
  return {
    id: randomUUID(),
    tenant: 'acme',
    user: 'alice',
    server: 'cloudflare_mcp',
    method: 'tools/call',
    target: 'dns_records_list',
    decision: 'allow',
    policy: 'default',
    rules: ['r1', 'r2'],
    configVersion: 'cfg1',
    outcome: 'ok',
    durationMs: 12,
    requestBytes: 100,
    responseBytes: 200,
    ...overrides,
  };
}

describe('parseAuditOptions', () => {
  it('turns the seed example into a query for the last 24 hours', () => {
    const { query, format } = parseAuditOptions({ server: 'cloudflare_mcp', last: '24h' }, [], NOW);
    expect(format).toBe('table');
    expect(query).toEqual({ server: 'cloudflare_mcp', since: new Date('2026-11-23T12:00:00.000Z'), limit: 100 });
  });

  it('takes every filter', () => {
    const opts: AuditOptions = {
      tenant: 'acme',
      user: 'bob',
      decision: 'deny',
      since: '2026-11-01',
      until: '2026-11-02T06:30',
      limit: '5',
      format: 'csv',
    };
    expect(parseAuditOptions(opts, [], NOW)).toEqual({
      format: 'csv',
      query: {
        tenant: 'acme',
        user: 'bob',
        decision: 'deny',
        since: new Date('2026-11-01T00:00:00.000Z'),
        until: new Date('2026-11-02T06:30:00.000Z'),
        limit: 5,
      },
    });
    expect(parseAuditOptions({ since: '2026-11-01T10:00+02:00' }, [], NOW).query.since).toEqual(
      new Date('2026-11-01T08:00:00.000Z'),
    );
  });

  it.each<[string, AuditOptions, string[], RegExp]>([
    ['a duration with a space', { last: '3' }, ['days'], /--last: invalid duration '3'.*e\.g\. --last 24h/],
    ['a stray argument', { last: '3d' }, ['days'], /unexpected argument 'days' \(durations are written without spaces/],
    ['a duration without unit', { last: '24' }, [], /--last: invalid duration '24'/],
    ['an unknown format', { format: 'xml' }, [], /--format 'xml' is not one of: table, json, jsonl, csv/],
    [
      'an unknown decision',
      { decision: 'maybe' },
      [],
      /--decision 'maybe' is not one of: allow, deny, governed, error/,
    ],
    ['a zero limit', { limit: '0' }, [], /--limit '0' must be a whole number from 1 to 100000/],
    ['a word as limit', { limit: 'ten' }, [], /--limit 'ten' must be a whole number/],
    ['a time that is not ISO', { since: 'yesterday' }, [], /--since 'yesterday' is not a time: use ISO 8601/],
    ['an impossible date', { since: '2026-13-45' }, [], /--since '2026-13-45' is not a time/],
    ['both --last and --since', { last: '1h', since: '2026-11-01' }, [], /either --last or --since, not both/],
    ['an empty range', { since: '2026-11-02', until: '2026-11-01' }, [], /--until must be later/],
    ['an empty server', { server: ' ' }, [], /--server needs a value/],
  ])('rejects %s', (_what, opts, extra, message) => {
    expect(() => parseAuditOptions(opts, extra, NOW)).toThrow(message);
    expect(() => parseAuditOptions(opts, extra, NOW)).toThrow(CliError);
  });
});

describe('formatAuditEvents', () => {
  const tricky = {
    ...event({ time: new Date('2026-11-24T10:00:00.000Z') }),
    sessionId: 's1',
    intent: 'say "hi", then\nleave',
    argsSummary: '=HYPERLINK("http://evil")',
    errorMessage: 'a,b',
    operationId: 'op-1',
  };
  const plain = event({ time: new Date('2026-11-24T09:00:00.000Z'), decision: 'deny', outcome: 'denied' });
  delete (plain as Partial<AuditEventInput>).target;

  it('prints a table with one line per event', () => {
    const text = formatAuditEvents([tricky, plain], 'table');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^TIME \(UTC\)\s+TENANT\s+USER\s+SERVER\s+METHOD\s+TARGET\s+DECISION\s+OUTCOME\s+MS\s+POLICY$/,
    );
    expect(lines[1]).toMatch(
      /^2026-11-24 10:00:00\s+acme\s+alice\s+cloudflare_mcp\s+tools\/call\s+dns_records_list\s+allow\s+ok\s+12\s+default$/,
    );
    expect(lines[2]).toMatch(/^2026-11-24 09:00:00\s+acme\s+alice\s+cloudflare_mcp\s+tools\/call\s+-\s+deny\s+denied/);
    expect(lines[3]).toBe('2 events, newest first');
    expect(formatAuditEvents([], 'table')).toBe('No audit events match.\n');
  });

  it('writes CSV that a CSV parser reads back, with formulas neutralised', () => {
    const rows = parse(formatAuditEvents([tricky, plain], 'csv'), { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      id: tricky.id,
      time: '2026-11-24T10:00:00.000Z',
      intent: 'say "hi", then\nleave',
      errorMessage: 'a,b',
      rules: 'r1;r2',
      durationMs: '12',
      argsSummary: `'=HYPERLINK("http://evil")`,
    });
    expect(rows[1]).toMatchObject({ decision: 'deny', target: '' });
    expect(formatAuditEvents([], 'csv').trim().split(',')).toContain('operationId');
  });

  it('writes JSON and JSON lines', () => {
    const json = JSON.parse(formatAuditEvents([tricky, plain], 'json')) as Array<Record<string, unknown>>;
    expect(json.map((e) => e.id)).toEqual([tricky.id, plain.id]);
    expect(json[0]?.time).toBe('2026-11-24T10:00:00.000Z');
    const lines = formatAuditEvents([tricky, plain], 'jsonl').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([tricky.id, plain.id]);
    expect(formatAuditEvents([], 'jsonl')).toBe('');
  });
});

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('auditCommand on %s', (_name, usePostgres) => {
  let dir: string;
  let configPath: string;
  let databaseUrl: string | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  const recent = new Date(Date.now() - 60_000);
  const old = new Date(Date.now() - 3 * 24 * 3600_000);
  const events = [
    event({ time: recent, server: 'cloudflare_mcp', decision: 'deny', outcome: 'denied' }),
    event({ time: new Date(recent.getTime() - 1000), server: 'github', user: 'bob' }),
    event({ time: old, server: 'cloudflare_mcp' }),
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-cli-'));
    configPath = join(dir, 'mcp-governance.yaml');
    let database = '';
    if (usePostgres) {
      const adminUrl = process.env.ATOM_GOV_TEST_PG_URL;
      if (!adminUrl) throw new Error('ATOM_GOV_TEST_PG_URL is not set: the Jest global setup starts PostgreSQL');
      const name = `audit_cli_${randomUUID().replaceAll('-', '')}`;
      const admin = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
      await admin.query(`CREATE DATABASE ${name}`);
      dropDatabase = async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.destroy();
      };
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      databaseUrl = url.toString();
      database = `  database:\n    url: ${databaseUrl}\n`;
    }
    writeFileSync(configPath, `atom_gov:\n  version: 1.0.0\n  servers: []\n${database}`);
    const store = await openAuditStore({
      ...(databaseUrl ? { databaseUrl } : {}),
      sqlitePath: join(dir, 'data', 'audit.sqlite'),
    });
    await Promise.all(events.map((e) => store.append(e)));
    await store.close();
  });

  afterAll(async () => {
    await dropDatabase?.();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(opts: AuditOptions): Promise<{ stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    await auditCommand({ config: configPath, dataDir: join(dir, 'data'), ...opts }, [], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    return { stdout, stderr };
  }

  it('answers the seed example: one server, last 24 hours', async () => {
    const { stdout } = await run({ server: 'cloudflare_mcp', last: '24h', format: 'jsonl' });
    const ids = stdout
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual([events[0]?.id]);
  });

  it('lists everything newest first as a table, and filters by user', async () => {
    const all = await run({});
    expect(all.stdout).toMatch(/cloudflare_mcp .*deny[\s\S]*github[\s\S]*cloudflare_mcp .*allow/);
    expect(all.stdout).toContain('3 events, newest first');
    const bob = await run({ user: 'bob', format: 'json' });
    expect((JSON.parse(bob.stdout) as Array<{ id: string }>).map((e) => e.id)).toEqual([events[1]?.id]);
  });

  it('prints an empty result when nothing matches', async () => {
    const { stdout } = await run({ decision: 'governed', format: 'json' });
    expect(JSON.parse(stdout)).toEqual([]);
    expect((await run({ tenant: 'nobody' })).stdout).toBe('No audit events match.\n');
  });
});

describe('auditCommand without a database yet', () => {
  it('says so instead of creating an empty SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-cli-'));
    try {
      const configPath = join(dir, 'mcp-governance.yaml');
      writeFileSync(configPath, 'atom_gov:\n  version: 1.0.0\n  servers: []\n');
      let stdout = '';
      let stderr = '';
      const dataDir = join(dir, 'data');
      await auditCommand({ config: configPath, dataDir, format: 'json' }, [], {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
      });
      expect(stdout).toBe('[]\n');
      expect(stderr).toContain(`No audit database at ${join(dataDir, 'audit.sqlite')} yet`);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
