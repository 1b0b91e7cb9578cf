// Durable audit appends per second through the real store (group commit, hash chain, chain-head lock, signed
// checkpoints), on SQLite (synchronous=FULL, WAL) and on a local PostgreSQL (started here unless
// ATOM_GOV_BENCH_PG_URL is set). Each append resolves only once its transaction has committed.
//   npm run bench -- audit-append       (node bench/dist/bench/audit-append.bench.js [--events 100000] [--inflight 2000])
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEventInput, type AuditStore, createDataSource, openAuditStore } from '@atom-gov/audit';
import { spawnPostgres } from '../test/setup/postgres.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const events = arg('events', 100_000);
const inflight = arg('inflight', 2000);
const TARGET_SQLITE = 20_000;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function event(i: number): AuditEventInput {
  return {
    id: randomUUID(),
    time: new Date(),
    tenant: `tenant-${i % 8}`,
    user: `user-${i % 100}`,
    sessionId: 'session-1',
    server: 'cloudflare_mcp',
    method: 'tools/call',
    target: 'dns_records_list',
    decision: 'allow',
    policy: 'default',
    rules: ['rate-limit:60/min'],
    configVersion: 'a3f1c2',
    outcome: 'ok',
    durationMs: 12,
    requestBytes: 180,
    responseBytes: 2048,
    argsSummary: '{"zone":"example.com","type":"A"}',
    resultSummary: '3 records',
  };
}

/** `inflight` callers append as fast as their previous append resolves (a gateway under load). */
async function run(label: string, store: AuditStore): Promise<number> {
  // Warm-up (schema cache, JIT) outside the measurement.
  await Promise.all(Array.from({ length: 2000 }, (_, i) => store.append(event(i))));
  const before = store.stats();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < events) await store.append(event(next++));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = store.stats();
  const batches = after.batches - before.batches;
  const rate = events / seconds;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `| ${label} | ${events.toLocaleString('en-US')} | ${inflight} | ${Math.round(rate).toLocaleString('en-US')} | ` +
      `${Math.round(events / cpuSeconds).toLocaleString('en-US')} | ${batches} | ${(events / batches).toFixed(0)} | ${load()} |`,
  );
  const report = await store.verify();
  if (!report.ok) throw new Error(`${label}: the chain does not verify after the run`);
  return rate;
}

async function main(): Promise<void> {
  console.log(
    `durable audit appends (group commit, sha256 chain, chain-head lock, checkpoints), node ${process.version}, ${new Date().toISOString()}`,
  );
  console.log('');
  console.log(
    '| database | events | in flight | appends/s (wall) | appends per CPU-second (this process) | transactions | events/transaction | load average after |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-bench-append-'));
  const checkpoints = { signingKeyPath: join(dir, 'key.pem') };
  let sqliteRate: number;
  try {
    const sqlite = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite'), checkpoints });
    sqliteRate = await run('SQLite (WAL, synchronous=FULL)', sqlite);
    await sqlite.close();

    const server = process.env.ATOM_GOV_BENCH_PG_URL ? undefined : await spawnPostgres();
    try {
      const adminUrl = process.env.ATOM_GOV_BENCH_PG_URL ?? server!.url;
      const admin = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
      const name = `bench_append_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const pg = await openAuditStore({ databaseUrl: url.toString(), sqlitePath: '', checkpoints });
      await run('PostgreSQL (local, fsync on)', pg);
      await pg.close();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.destroy();
    } finally {
      await server?.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('');
  console.log(
    `Target: SQLite >= ${TARGET_SQLITE.toLocaleString('en-US')} durable appends/s: ` +
      `${sqliteRate >= TARGET_SQLITE ? 'PASS' : 'MISS'} (${Math.round(sqliteRate).toLocaleString('en-US')}/s wall)`,
  );
}

await main();
