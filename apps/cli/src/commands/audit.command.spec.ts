import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEventInput, createDataSource, openAuditStore, openConfiguredAuditStore } from '@atom-gov/audit';
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
      follow: false,
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

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('investigation flags on %s (encrypted, PII-redacted trail)', (_name, usePostgres) => {
  const masterKey = randomBytes(32).toString('hex');
  const env = { ...process.env, ATOM_GOV_MASTER_KEY: masterKey };
  let dir: string;
  let configPath: string;
  let dbOpts: { databaseUrl?: string; sqlitePath: string };
  let dropDatabase: (() => Promise<void>) | undefined;
  const t0 = Date.now() - 10 * 60_000;
  const hostile = "%' OR 1=1 --";
  const e1 = event({
    time: new Date(t0),
    operationId: 'op-1',
    target: 'read_file',
    intent: 'quarterly report',
    argsSummary: '{"path":"/secret/plans.txt","contact":"bob@example.com"}',
  });
  const e2 = event({
    time: new Date(t0 + 1000),
    operationId: 'op-1',
    target: 'write_file',
    outcome: 'denied',
    intent: `evil ${hostile}`,
  });
  const e3 = event({
    time: new Date(t0 + 2000),
    tenant: 'globex',
    target: 'read_file',
    outcome: 'error',
    errorMessage: 'disk full',
  });
  const pages = [0, 1, 2, 3, 4].map((i) => event({ time: new Date(t0 + 3000 + i), tenant: 'paged' }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-inv-'));
    configPath = join(dir, 'mcp-governance.yaml');
    let database = '';
    dbOpts = { sqlitePath: join(dir, 'data', 'audit.sqlite') };
    if (usePostgres) {
      const adminUrl = process.env.ATOM_GOV_TEST_PG_URL;
      if (!adminUrl) throw new Error('ATOM_GOV_TEST_PG_URL is not set: the Jest global setup starts PostgreSQL');
      const name = `audit_inv_${randomUUID().replaceAll('-', '')}`;
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
    writeFileSync(
      configPath,
      `atom_gov:\n  version: 1.0.0\n  servers: []\n  audit:\n    encrypt: true\n    pii_redaction: true\n${database}`,
    );
    const store = await openConfiguredAuditStore({
      ...dbOpts,
      dataDir: join(dir, 'data'),
      encrypt: true,
      piiRedaction: true,
      masterKey,
    });
    for (const e of [e1, e2, e3, ...pages]) await store.append(e);
    await store.close();
  });

  afterAll(async () => {
    await dropDatabase?.();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(opts: AuditOptions): Promise<{ stdout: string; stderr: string; ids: string[] }> {
    let stdout = '';
    let stderr = '';
    await auditCommand(
      { config: configPath, dataDir: join(dir, 'data'), format: 'jsonl', ...opts },
      [],
      { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
      env,
    );
    const ids = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { id: string }).id);
    return { stdout, stderr, ids };
  }

  it('filters by operation, tool and outcome', async () => {
    expect((await run({ operation: 'op-1' })).ids).toEqual([e2.id, e1.id]);
    expect((await run({ tool: 'read_file' })).ids).toEqual([e3.id, e1.id]);
    expect((await run({ outcome: 'denied' })).ids).toEqual([e2.id]);
    expect((await run({ tool: 'read_file', tenant: 'globex' })).ids).toEqual([e3.id]);
  });

  it('treats hostile input as data: no injection, LIKE wildcards are literal', async () => {
    expect((await run({ tenant: hostile })).ids).toEqual([]);
    expect((await run({ tool: "x' OR '1'='1" })).ids).toEqual([]);
    expect((await run({ operation: "op-1' --" })).ids).toEqual([]);
    expect((await run({ search: hostile })).ids).toEqual([e2.id]);
    expect((await run({ search: '%' })).ids).toEqual([e2.id]);
    expect((await run({ search: '_' })).ids).toEqual(expect.arrayContaining([e1.id, e2.id, e3.id]));
    expect((await run({ search: 'DROP TABLE audit_events; --' })).ids).toEqual([]);
    expect((await run({})).ids).toHaveLength(8);
  });

  it('searches plaintext fields only: sealed arguments are not searchable, the rest is case-insensitive', async () => {
    expect((await run({ search: 'QUARTERLY' })).ids).toEqual([e1.id]);
    expect((await run({ search: 'plans' })).ids).toEqual([]);
    expect((await run({ search: 'enc:v1' })).ids).toEqual([]);
  });

  it('stores arguments redacted and sealed, and shows them decrypted with the master key', async () => {
    const raw = await createDataSource(dbOpts).initialize();
    const [row] = (await raw.query(`SELECT args_summary FROM audit_events WHERE id = '${e1.id}'`)) as Array<{
      args_summary: string;
    }>;
    await raw.destroy();
    expect(row?.args_summary).toMatch(/^enc:v1:k[0-9a-f]{16}:/);
    const [shown] = (await run({ operation: 'op-1', outcome: 'ok' })).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argsSummary: string });
    expect(shown?.argsSummary).toContain('/secret/plans.txt');
    expect(shown?.argsSummary).not.toContain('bob@example.com');
  });

  it('pages with --cursor: every event once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const r = await run({ tenant: 'paged', limit: '2', ...(cursor ? { cursor } : {}) });
      seen.push(...r.ids);
      cursor = /--cursor (\S+)/.exec(r.stderr)?.[1];
      if (!cursor) break;
    }
    expect(seen).toEqual([...pages].reverse().map((e) => e.id));
    await expect(run({ cursor: 'not-a-cursor' })).rejects.toThrow(CliError);
    await expect(run({ cursor: 'not-a-cursor' })).rejects.toThrow(/cursor is not one this command printed/);
  });

  it('--follow prints the latest events, then new ones as they are stored', async () => {
    const stop = new AbortController();
    let stdout = '';
    const seen = new Promise<void>((resolve) => {
      const following = auditCommand(
        { config: configPath, dataDir: join(dir, 'data'), tenant: 'followed', follow: true, format: 'jsonl' },
        [],
        {
          stdout: (t) => {
            stdout += t;
            if (stdout.includes(late.id)) resolve();
          },
          stderr: () => undefined,
        },
        env,
        { signal: stop.signal, pollMs: 100 },
      );
      void following.catch(() => resolve());
    });
    const late = event({ time: new Date(), tenant: 'followed', target: 'tail_me' });
    const writer = await openConfiguredAuditStore({
      ...dbOpts,
      dataDir: join(dir, 'data'),
      encrypt: true,
      piiRedaction: true,
      masterKey,
    });
    await writer.append(late);
    await writer.close();
    await seen;
    stop.abort();
    expect(stdout).toContain('"target":"tail_me"');
    expect(() => parseAuditOptions({ follow: true, format: 'json' })).toThrow(/--follow prints table or jsonl/);
  });

  it('rejects bad new flags with what would be accepted', () => {
    expect(() => parseAuditOptions({ outcome: 'maybe' })).toThrow(
      /--outcome 'maybe' is not one of: ok, error, denied, timeout, cancelled/,
    );
    expect(() => parseAuditOptions({ search: ' ' })).toThrow(/--search needs 1 to 200 characters/);
    expect(() => parseAuditOptions({ operation: '' })).toThrow(/--operation needs a value/);
  });
});
