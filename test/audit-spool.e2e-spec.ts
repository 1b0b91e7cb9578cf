// "Nothing lost": PostgreSQL stopped for 30 s while writers keep appending through the spooling store. Uses its
// own throw-away PostgreSQL (stopped and started with pg_ctl) so the suite's shared server is untouched.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  type AuditEventInput,
  AuditStoreUnavailableError,
  createDataSource,
  openAuditStore,
  type SpoolingAuditStore,
  withAuditSpool,
} from '@atom-gov/audit';
import { type PostgresServer, spawnPostgres } from './setup/postgres.js';

const run = promisify(execFile);
const OUTAGE_MS = 30_000;

function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const version = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error('pg_ctl not found: run `bash scripts/ensure-postgres.sh`');
  return join(root, version, 'bin');
}

describe('SpoolingAuditStore with PostgreSQL stopped for 30 s during load', () => {
  let server: PostgresServer;
  let dataDir: string;
  let dir: string;
  let store: SpoolingAuditStore;
  const states: string[] = [];

  const pgCtl = async (...args: string[]) => {
    const prefix = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
    const [file, ...rest] = [...prefix, join(pgBin(), 'pg_ctl'), ...args];
    await run(file!, rest, { cwd: dirname(dataDir) });
  };

  beforeAll(async () => {
    server = await spawnPostgres({ database: 'spool_test' });
    const probe = await createDataSource({ databaseUrl: server.url, sqlitePath: '' }).initialize();
    dataDir = ((await probe.query('SHOW data_directory')) as Array<{ data_directory: string }>)[0]!.data_directory;
    await probe.destroy();
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-spool-'));
    const inner = await openAuditStore({ databaseUrl: server.url, sqlitePath: '', timeoutMs: 1000 });
    store = withAuditSpool(inner, {
      spoolPath: join(dir, 'audit-spool.jsonl'),
      pingIntervalMs: 250,
      onStateChange: (degraded, detail) => states.push(`${degraded ? 'degraded' : 'healthy'}: ${detail}`),
    });
  }, 60_000);

  afterAll(async () => {
    await store?.close().catch(() => undefined);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loses no event, replays them in order and refuses governed work while degraded', async () => {
    const stored: string[] = [];
    const failures: unknown[] = [];
    let stop = false;
    let n = 0;
    const writer = async (w: number) => {
      while (!stop) {
        n += 1;
        const event: AuditEventInput = {
          id: randomUUID(),
          time: new Date(),
          tenant: `t${w}`,
          user: 'load@example.com',
          server: 'everything',
          method: 'tools/call',
          target: 'echo',
          decision: 'allow',
          configVersion: 'v'.repeat(64),
          outcome: 'ok',
          durationMs: 1,
          requestBytes: 10,
          responseBytes: 10,
          argsSummary: `{"n":${n}}`,
        };
        try {
          await store.append(event);
          stored.push(event.id!);
        } catch (error) {
          failures.push(error);
        }
        // Paced: a steady stream of calls rather than a tight loop on two shared cores.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(store.isDegraded()).toBe(false);
    const beforeOutage = stored.length;

    await pgCtl('stop', '-D', dataDir, '-m', 'fast', '-w');
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    expect(store.isDegraded()).toBe(true);
    expect(() => store.assertAvailable()).toThrow(AuditStoreUnavailableError);
    expect(() => store.assertAvailable()).toThrow(/governed operations are refused until the audit database is back/);
    const spooledDuringOutage = store.spooled();
    expect(spooledDuringOutage).toBeGreaterThan(100);
    expect(statSync(join(dir, 'audit-spool.jsonl')).size).toBeGreaterThan(0);

    await pgCtl(
      'start',
      '-D',
      dataDir,
      '-w',
      '-l',
      join(dirname(dataDir), 'postgres.log'),
      '-o',
      `-p ${server.port} -k ${dirname(dataDir)} -c listen_addresses=127.0.0.1`,
    );
    const outageMs = Date.now() - stoppedAt;
    await store.drained();
    await new Promise((resolve) => setTimeout(resolve, 500));
    stop = true;
    await Promise.all(writers);

    expect(failures).toEqual([]);
    expect(store.isDegraded()).toBe(false);
    expect(readFileSync(join(dir, 'audit-spool.jsonl'), 'utf8')).toBe('');
    const check = await createDataSource({ databaseUrl: server.url, sqlitePath: '' }).initialize();
    const rows = (await check.query('SELECT id FROM audit_events')) as Array<{ id: string }>;
    await check.destroy();
    expect(rows.length).toBe(stored.length);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(stored));
    // Spooled events come back in their original order (one writer per tenant: n increases with time).
    const replayed = await store.query({ tenant: 't0', order: 'asc', limit: 100_000 });
    const ns = replayed.map((e) => Number(/"n":(\d+)/.exec(e.argsSummary ?? '')?.[1]));
    expect(ns).toEqual([...ns].sort((a, b) => a - b));
    expect(states[0]).toMatch(/^degraded: /);
    expect(states.at(-1)).toMatch(/^healthy: spool replayed/);
    process.stdout.write(
      `spool: ${stored.length} events stored (${beforeOutage} before the outage, ${spooledDuringOutage} spooled ` +
        `during ${outageMs} ms without PostgreSQL), 0 lost\n`,
    );
  }, 120_000);
});
