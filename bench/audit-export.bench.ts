// `atom-gov export` throughput: 1,000,000 audit events streamed from SQLite into a file (target <= 30 s), per
// format and OpenPGP-encrypted, with the process's peak RSS to show that memory does not grow with the trail.
// The database is seeded with one bulk INSERT transaction (the append path has its own benchmark).
//   npm run bench -- audit-export            (options: --events N, --formats json,csv,jsonl,json+pgp)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as openpgp from 'openpgp';
import { createDataSource, openAuditStore } from '@atom-gov/audit';
import { exportAuditEvents, type ExportFormat } from '@atom-gov/reports';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const total = Number(arg('events', '1000000'));
const formats = arg('formats', 'json,csv,jsonl,json+pgp').split(',');
const TARGET_S = 30;

const dir = mkdtempSync(join(tmpdir(), 'atom-gov-export-bench-'));
// --db FILE: keep (and on later runs reuse) the seeded database, for profiling.
const keepDb = arg('db', '');
const sqlitePath = keepDb || join(dir, 'audit.sqlite');

/** The part of better-sqlite3's API the seeding uses. */
interface SqliteDb {
  pragma(text: string): unknown;
  prepare(sql: string): { all(): unknown[]; run(params: Record<string, unknown>): unknown };
  transaction(fn: () => void): () => void;
}

function sqliteTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

async function seed(): Promise<number> {
  // The store creates the schema (migrations); the rows then go in with one prepared statement in one transaction.
  await (await openAuditStore({ sqlitePath })).close();
  // better-sqlite3 directly (through the shared DataSource, which owns that dependency): a synchronous prepared
  // INSERT in one transaction is the fastest way to a million rows.
  const dataSource = await createDataSource({ sqlitePath }).initialize();
  const db = (dataSource.driver as unknown as { databaseConnection: SqliteDb }).databaseConnection;
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const columns = (db.prepare('PRAGMA table_info(audit_events)').all() as Array<{ name: string }>).map((c) => c.name);
  const insert = db.prepare(
    `INSERT INTO audit_events (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
  );
  const start = Date.UTC(2026, 9, 1);
  const step = (30 * 86_400_000) / total;
  const seqs = new Map<string, number>();
  const t0 = performance.now();
  const tools = ['search', 'deep_research', 'workers.deploy', 'dns_records_list', 'read_file'];
  const fill = db.transaction(() => {
    for (let i = 0; i < total; i++) {
      const tenant = `tenant-${i % 10}`;
      const seq = (seqs.get(tenant) ?? 0) + 1;
      seqs.set(tenant, seq);
      const denied = i % 17 === 0;
      const row: Record<string, unknown> = {
        // Ids in insertion order (a counter in a UUID v4 layout): random UUIDs made the primary-key index the
        // seeding's bottleneck; the stream orders by (time, id) either way.
        id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
        seq,
        time: sqliteTime(start + i * step),
        tenant,
        user_name: `user${i % 250}@example.com`,
        session_id: `session-${i % 5000}`,
        server: i % 3 ? 'perplexity_mcp' : 'cloudflare_mcp',
        method: 'tools/call',
        target: tools[i % tools.length],
        decision: denied ? 'deny' : 'allow',
        policy: denied ? 'perplexity_mcp.rate_limit' : null,
        rules: denied ? '["perplexity_mcp.rate_limit"]' : null,
        config_version: 'b65685c723329f3477de2cf85e8f083ee739bcf798c9ff5cf3f1f786a5546a87',
        intent: null,
        outcome: denied ? 'denied' : 'ok',
        error_message: denied
          ? 'Denied by policy perplexity_mcp.rate_limit: rate limit 100/hour per user exceeded'
          : null,
        duration_ms: 20 + (i % 900),
        request_bytes: 200 + (i % 300),
        response_bytes: 1500 + (i % 5000),
        args_summary: `{"query":"what changed in release ${i % 1000}","limit":10}`,
        result_summary: '{"content":[{"type":"text","text":"string 1830B"}]}',
        operation_id: null,
        hash: randomBytes(32).toString('hex'),
        prev_hash: randomBytes(32).toString('hex'),
        notes: null,
      };
      insert.run(Object.fromEntries(columns.map((c) => [c, row[c] ?? null])));
    }
  });
  fill();
  await dataSource.destroy();
  return (performance.now() - t0) / 1000;
}

async function recipientKey(): Promise<openpgp.PublicKey> {
  const { publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Bench Auditor', email: 'auditor@example.com' }],
    format: 'object',
  });
  return publicKey;
}

async function main(): Promise<void> {
  if (keepDb && existsSync(keepDb)) {
    console.log(`reusing ${keepDb}\n`);
  } else {
    console.log(`seeding ${total.toLocaleString('en')} events into SQLite (${sqlitePath}) ...`);
    const seedS = await seed();
    console.log(`seeded in ${seedS.toFixed(1)} s (bulk insert, not the append path)\n`);
  }
  const key = formats.some((f) => f.endsWith('+pgp')) ? await recipientKey() : undefined;
  const rows: string[] = [];
  let failed = false;
  for (const spec of formats) {
    const [format, pgp] = spec.split('+') as [ExportFormat, string | undefined];
    const store = await openAuditStore({ sqlitePath });
    const output = join(dir, `export.${spec}`);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let peakRss = 0;
    // The page size `atom-gov export` reads with (apps/cli export.command.ts EXPORT_PAGE).
    const result = await exportAuditEvents(store.stream({}, { batchSize: 1000 }), {
      format,
      output,
      // Sampled after each chunk: flat across the run means nothing accumulates with the trail.
      onProgress: () => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      },
      ...(pgp && key ? { recipients: [key] } : {}),
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    await store.close();
    rmSync(output, { force: true });
    const ok = result.events === total && seconds <= TARGET_S;
    failed ||= !ok;
    rows.push(
      `${spec.padEnd(9)} ${String(result.events).padStart(9)} events  ${seconds.toFixed(1).padStart(6)} s  ` +
        `${Math.round(result.events / seconds)
          .toLocaleString('en')
          .padStart(8)} events/s  ${(result.bytes / 1048576).toFixed(0).padStart(5)} MiB  ` +
        `cpu ${cpuSeconds.toFixed(1).padStart(5)} s  rss ${(peakRss / 1048576).toFixed(0).padStart(4)} MiB  ` +
        `${ok ? 'OK' : 'MISS'} (target <= ${TARGET_S} s wall)  load ${loadavg()[0]!.toFixed(1)}`,
    );
    console.log(rows[rows.length - 1]);
  }
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  console.log(
    '\nwall = elapsed time of the export; cpu = CPU time this process used (on a loaded machine wall >> cpu);\n' +
      'load = 1-minute load average when the export ended (2 cores: above 2 the export waited for a CPU);\n' +
      'rss = peak resident memory of the process while that export ran (the seeding connection cache included).',
  );
  console.log(`peak RSS of the whole run: ${peakMiB.toFixed(0)} MiB (the seeding included; the trail is far larger)`);
  rmSync(dir, { recursive: true, force: true });
  if (failed) process.exitCode = 1;
}

await main();
