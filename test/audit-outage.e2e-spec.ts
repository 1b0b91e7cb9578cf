// The real gateway on its own throw-away PostgreSQL, audit encryption and PII redaction on, opened the way
// `atom-gov gateway` opens it (openConfiguredAuditStore with the spool). PostgreSQL is stopped while MCP clients
// keep calling: fast-path calls go on (their events spooled), a governed call is refused with a clear reason, and
// once PostgreSQL is back every call's event is in the database, sealed, on a chain that verifies.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ConfiguredAuditStore, createDataSource, openConfiguredAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { startGateway, type RunningGateway } from '@atom-gov/gateway';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type PostgresServer, spawnPostgres } from './setup/postgres.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const KEY = 'agk_outage_0123456789';
const OUTAGE_MS = 10_000;

describe('gateway audit while PostgreSQL is down', () => {
  let server: PostgresServer;
  let dir: string;
  let audit: ConfiguredAuditStore;
  let gateway: RunningGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    const env = temporalTestEnv();
    server = await spawnPostgres({ database: 'outage' });
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-outage-'));
    writeFileSync(
      join(dir, 'mcp-governance.yaml'),
      `atom_gov:
  version: 1.0.0
  temporal: { address: ${env.address}, namespace: ${env.namespace}, task_queue: ${uniqueTaskQueue('outage')} }
  database: { url: "${server.url}" }
  audit: { encrypt: true, pii_redaction: true }
  gateway:
    host: 127.0.0.1
    port: 0
    api_keys:
      - name: ops
        sha256: ${createHash('sha256').update(KEY).digest('hex')}
        tenant: acme
        user: ops@acme.test
        roles: [dev]
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([everything, 'stdio'])}
  policy_files: [approval.yaml]
`,
    );
    writeFileSync(
      join(dir, 'approval.yaml'),
      `policy:
  name: sum_needs_approval
  trigger: { mcp_server: everything, operation: get-sum }
  action:
    require_approval: { approvers: [alice@acme.test], timeout: 5m }
`,
    );
    const config = await loadConfig({ configPath: join(dir, 'mcp-governance.yaml'), dataDir: dir, env: { HOME: dir } });
    audit = await openConfiguredAuditStore({
      databaseUrl: server.url,
      sqlitePath: config.database.sqlitePath,
      timeoutMs: 1000,
      dataDir: dir,
      encrypt: config.audit.encrypt,
      piiRedaction: config.audit.piiRedaction,
      masterKey: randomBytes(32).toString('hex'),
      spool: true,
      pingIntervalMs: 250,
    });
    gateway = await startGateway({ config, audit, temporalAddress: env.address, port: 0, logger: ['error'] });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.close();
    await audit?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'outage-e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/everything`), {
        requestInit: { headers: { authorization: `Bearer ${KEY}` } },
      }),
    );
    clients.push(client);
    return client;
  }

  it('keeps serving fast-path calls, refuses governed ones, and loses no event', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const caller = async (client: Client, name: string) => {
      for (let i = 0; !stop; i += 1) {
        try {
          const r = await client.callTool({
            name: 'echo',
            arguments: { message: `${name}-${i} mail me at jane.doe@example.com` },
          });
          if (r.isError) failures.push(JSON.stringify(r.content));
          else ok += 1;
        } catch (error) {
          failures.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const callers = [caller(a!, 'a'), caller(b!, 'b')];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const beforeOutage = ok;

    await server.pause();
    // The first write that fails turns the store degraded; from then on calls are served from the spool.
    while (!audit.isDegraded()) await new Promise((resolve) => setTimeout(resolve, 50));
    const governed = await a!.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    expect(governed.isError).toBe(true);
    expect(JSON.stringify(governed.content)).toMatch(
      /Denied by policy sum_needs_approval: the audit database is not available; governed operations are refused/,
    );
    const atOutageStart = ok;
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const duringOutage = ok - atOutageStart;
    expect(duringOutage).toBeGreaterThan(20);

    await server.resume();
    while (audit.isDegraded()) await new Promise((resolve) => setTimeout(resolve, 50));
    stop = true;
    await Promise.all(callers);

    expect(failures).toEqual([]);
    const events = await audit.query({ tenant: 'acme', target: 'echo', limit: 100_000 });
    expect(events).toHaveLength(ok);
    // Stored sealed and redacted: opened here with the key, the email is gone.
    expect(events.every((e) => e.argsSummary?.includes('[REDACTED:email]'))).toBe(true);
    expect(events.some((e) => JSON.stringify(e).includes('jane.doe@example.com'))).toBe(false);
    const raw = await createDataSource({ databaseUrl: server.url, sqlitePath: '' }).initialize();
    const sealed = (await raw.query(
      "SELECT count(*)::int AS n FROM audit_events WHERE target = 'echo' AND args_summary LIKE 'enc:v1:%'",
    )) as Array<{ n: number }>;
    await raw.destroy();
    expect(sealed[0]?.n).toBe(ok);
    const refused = await audit.query({ tenant: 'acme', target: 'get-sum' });
    expect(refused[0]).toMatchObject({ decision: 'governed', outcome: 'denied' });
    const report = await audit.verify({ tenant: 'acme' });
    expect(report.tenants[0]?.problems).toEqual([]);
    process.stdout.write(
      `outage: ${ok} echo calls (${beforeOutage} before, ${duringOutage} during ${OUTAGE_MS} ms without PostgreSQL), ` +
        `${events.length} events stored, governed call refused, chain verifies\n`,
    );
  }, 120_000);
});
