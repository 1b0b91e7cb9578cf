// "Nothing lost": PostgreSQL stopped for 30 s while writers keep appending through the spooling store. Uses its
// own throw-away PostgreSQL (stopped and started with pg_ctl) so the suite's shared server is untouched.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditEventInput,
  AuditStoreUnavailableError,
  createDataSource,
  openAuditStore,
  type SpoolingAuditStore,
  withAuditSpool,
} from '@atom-gov/audit';
import { type PostgresServer, spawnPostgres } from './setup/postgres.js';

const OUTAGE_MS = 30_000;

describe('SpoolingAuditStore with PostgreSQL stopped for 30 s during load', () => {
  let server: PostgresServer;
  let dir: string;
  let store: SpoolingAuditStore;
  const states: string[] = [];

  beforeAll(async () => {
    server = await spawnPostgres({ database: 'spool_test' });
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

    await server.pause();
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    expect(store.isDegraded()).toBe(true);
    expect(() => store.assertAvailable()).toThrow(AuditStoreUnavailableError);
    expect(() => store.assertAvailable()).toThrow(/governed operations are refused until the audit database is back/);
    const spooledDuringOutage = store.spooled();
    expect(spooledDuringOutage).toBeGreaterThan(100);
    expect(statSync(join(dir, 'audit-spool.jsonl')).size).toBeGreaterThan(0);

    await server.resume();
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
