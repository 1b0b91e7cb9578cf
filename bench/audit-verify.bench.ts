// Chain verification speed (`atom-gov audit verify`): every event re-hashed and its links and checkpoints checked,
// on SQLite and on a local PostgreSQL (started here unless ATOM_GOV_BENCH_PG_URL is set).
//   npm run bench -- audit-verify  (node bench/dist/bench/audit-verify.bench.js [--events 200000] [--rounds 3] [--threads 2])
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditEventInput,
  type AuditStore,
  createDataSource,
  openAuditStore,
  type VerifyOptions,
} from '@atom-gov/audit';
import { spawnPostgres } from '../test/setup/postgres.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const events = arg('events', 200_000);
const rounds = arg('rounds', 3);
const threads = arg('threads', 2);
const TARGET = 100_000;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function event(i: number): AuditEventInput {
  return {
    id: randomUUID(),
    time: new Date(Date.UTC(2026, 10, 1) + i * 10),
    tenant: `tenant-${i % 8}`,
    user: `user-${i % 100}`,
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

async function fill(store: AuditStore): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 2000 }, async () => {
      while (next < events) await store.append(event(next++));
    }),
  );
  await store.checkpoint();
}

async function measure(label: string, store: AuditStore, opts: VerifyOptions = {}): Promise<number> {
  let best = 0;
  for (let round = 0; round < rounds; round += 1) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await store.verify(opts);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const walked = report.tenants.reduce((n, t) => n + t.events, 0);
    if (!report.ok || walked !== events) throw new Error(`${label}: expected ${events} verifying events`);
    const rate = walked / seconds;
    best = Math.max(best, rate);
    console.log(
      `| ${label} | ${walked.toLocaleString('en-US')} | ${round + 1} | ${seconds.toFixed(2)} | ${Math.round(rate).toLocaleString('en-US')} | ` +
        `${Math.round(walked / ((cpu.user + cpu.system) / 1e6)).toLocaleString('en-US')} | ${load()} |`,
    );
  }
  return best;
}

async function main(): Promise<void> {
  console.log(
    `audit chain verification (re-hash every event, links, signed checkpoints), node ${process.version}, ${new Date().toISOString()}`,
  );
  console.log('');
  console.log(
    '| database | events | round | seconds | events/s (wall) | events per CPU-second (this process) | load average after |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-bench-verify-'));
  const checkpoints = { signingKeyPath: join(dir, 'key.pem') };
  let sqliteBest: number;
  try {
    const sqlite = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite'), checkpoints });
    await fill(sqlite);
    // The classifying walk alone (what verify did before the range check), side by side in the same run.
    await measure('SQLite, walk only (sequential)', sqlite, { sequential: true });
    sqliteBest = await measure('SQLite', sqlite);
    if (threads > 0) await measure(`SQLite, ${threads} threads`, sqlite, { threads });
    await sqlite.close();

    const server = process.env.ATOM_GOV_BENCH_PG_URL ? undefined : await spawnPostgres();
    try {
      const adminUrl = process.env.ATOM_GOV_BENCH_PG_URL ?? server!.url;
      const admin = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
      const name = `bench_verify_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const pg = await openAuditStore({ databaseUrl: url.toString(), sqlitePath: '', checkpoints });
      await fill(pg);
      await measure('PostgreSQL, walk only (sequential)', pg, { sequential: true });
      await measure('PostgreSQL', pg);
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
    `Target: verification >= ${TARGET.toLocaleString('en-US')} events/s (SQLite): ` +
      `${sqliteBest >= TARGET ? 'PASS' : 'MISS'} (best ${Math.round(sqliteBest).toLocaleString('en-US')}/s wall)`,
  );
}

await main();
