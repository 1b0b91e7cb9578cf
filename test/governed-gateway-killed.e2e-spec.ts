// Issue 5 fault case: the gateway is SIGKILLed while an assistant's governed call waits for approval. The
// operation lives on in Temporal: the approval is still recorded, and with no gateway left to report an outcome
// the reservation is released by the outcome timeout. Real worker and dev server; the gateway runs in its own
// process from the built packages (`npm run build` first).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditStore, openAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { argsHash, GovernanceClient, type PendingOperation } from '@atom-gov/governance-client';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { startWorker, type RunningWorker } from '@atom-gov/worker';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const KEY = 'agk_erin_0123456789ab';
const TENANT = `t-${randomUUID().slice(0, 8)}`;
const OUTCOME_TIMEOUT_MS = 3000;

let dir: string;
let configPath: string;
let worker: RunningWorker;
let gc: GovernanceClient;
let audit: AuditStore;
let child: ChildProcess | undefined;

beforeAll(async () => {
  const env = temporalTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-gw-killed-'));
  writeFileSync(
    join(dir, 'p.yaml'),
    `policy:
  name: echo_approved_and_counted
  trigger: { mcp_server: everything, operation: echo }
  action:
    require_approval: { approvers: [alice@company.com], timeout: 5m, on_timeout: deny }
    quota: { limit: 10/day, per: tenant }
`,
  );
  configPath = join(dir, 'mcp-governance.yaml');
  writeFileSync(
    configPath,
    `atom_gov:
  version: 1.0.0
  temporal: { address: ${env.address}, namespace: ${env.namespace}, task_queue: ${uniqueTaskQueue('gw-killed')} }
  gateway:
    host: 127.0.0.1
    port: 0
    api_keys:
      - name: erin
        sha256: ${createHash('sha256').update(KEY).digest('hex')}
        tenant: ${TENANT}
        user: erin@company.com
        roles: [dev]
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([everything, 'stdio'])}
  policy_files: [p.yaml]
`,
  );
  const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
  worker = await startWorker({ config, temporalAddress: env.address, registerSearchAttributes: true });
  audit = await openAuditStore({ sqlitePath: config.database.sqlitePath });
  gc = await GovernanceClient.connect({
    address: env.address,
    namespace: env.namespace,
    taskQueue: config.temporal.taskQueue,
  });
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await worker?.shutdown();
  await gc?.close();
  await audit?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the fixture gateway process and resolves with its URL once it listens. */
function startChildGateway(): Promise<string> {
  const env = temporalTestEnv();
  child = spawn(
    process.execPath,
    [join(process.cwd(), 'test/fixtures/governed-gateway.mjs'), configPath, env.address, String(OUTCOME_TIMEOUT_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const proc = child;
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`gateway fixture exited with ${code}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.startsWith('ready ')) resolve(line.slice('ready '.length));
    });
  });
}

async function pendingWith(args: Record<string, unknown>): Promise<PendingOperation> {
  const hash = argsHash(args);
  for (;;) {
    const op = (await gc.listPending({ tenant: TENANT })).find((o) => o.state.argsHash === hash);
    if (op) return op;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('gateway killed while a governed call waits', () => {
  it('keeps the operation: the approval is recorded, and the reservation is released by the outcome timeout', async () => {
    const url = await startChildGateway();
    const client = new Client({ name: 'killed-e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp/everything`), {
        requestInit: { headers: { authorization: `Bearer ${KEY}` } },
      }),
    );
    const args = { message: 'deploy while the gateway dies' };
    const call = client.callTool({ name: 'echo', arguments: args });
    call.catch(() => undefined); // fails once the gateway is gone
    const op = await pendingWith(args);
    expect(op.state.quotas).toMatchObject([{ resource: 'api_calls', status: 'reserved', reserved: 1 }]);

    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGKILL');
    await exited;
    await expect(call).rejects.toThrow();

    // The approver still decides on the operation; the vote is recorded and allows it.
    const decided = await gc.decide(op.operationId, {
      approver: 'alice@company.com',
      decision: 'approve',
      channel: 'cli',
    });
    expect(decided).toMatchObject({ decision: 'allow', approvals: [{ approver: 'alice@company.com' }] });

    // Nobody reports an outcome: after the timeout the reservation goes back and the operation ends as expired.
    const final = await gc.result(op.operationId);
    expect(final).toMatchObject({
      status: 'expired',
      decision: 'allow',
      quotas: [{ resource: 'api_calls', status: 'released' }],
    });
    const records = await audit.query({ operationId: op.operationId, tenant: TENANT });
    expect(records.map((r) => r.intent)).toEqual(
      expect.arrayContaining([
        'vote: approve by alice@company.com via cli',
        'expired: allowed, but the call was not made in time; reservation released',
      ]),
    );
    await client.close().catch(() => undefined);
  }, 90_000);
});
