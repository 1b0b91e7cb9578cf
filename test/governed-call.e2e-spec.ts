// The governed path end to end: the real gateway (GOVERNED_RUNNER on Temporal), the real worker running the
// governedOperation workflow on the suite's Temporal dev server, server-everything upstream, the official MCP SDK
// client as the assistant. Approvers decide through GovernanceClient while the client's call waits.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditStore, openAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { startGateway, type RunningGateway } from '@atom-gov/gateway';
import { argsHash, GovernanceClient, type PendingOperation } from '@atom-gov/governance-client';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { startWorker, type RunningWorker } from '@atom-gov/worker';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const KEY = 'agk_dave_0123456789ab';
const TENANT = `t-${randomUUID().slice(0, 8)}`;

let dir: string;
let audit: AuditStore;
let worker: RunningWorker;
let gateway: RunningGateway;
let gc: GovernanceClient;
const clients: Client[] = [];

beforeAll(async () => {
  const env = temporalTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-governed-'));
  writeFileSync(
    join(dir, 'approval.yaml'),
    `policy:
  name: echo_needs_two
  trigger:
    mcp_server: everything
    operation: echo
  action:
    require_approval:
      approvers: [alice@company.com, bob@company.com]
      min_approvals: 2
      timeout: 30s
      on_timeout: deny
`,
  );
  writeFileSync(
    join(dir, 'mcp-governance.yaml'),
    `atom_gov:
  version: 1.0.0
  temporal: { address: ${env.address}, namespace: ${env.namespace}, task_queue: ${uniqueTaskQueue('governed')} }
  gateway:
    host: 127.0.0.1
    port: 0
    api_keys:
      - name: dave
        sha256: ${createHash('sha256').update(KEY).digest('hex')}
        tenant: ${TENANT}
        user: dave@company.com
        roles: [dev]
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([everything, 'stdio'])}
  policy_files: [approval.yaml]
`,
  );
  const config = await loadConfig({ configPath: join(dir, 'mcp-governance.yaml'), dataDir: dir, env: { HOME: dir } });
  worker = await startWorker({ config, temporalAddress: env.address, registerSearchAttributes: true });
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  gateway = await startGateway({ config, audit, temporalAddress: env.address, port: 0, logger: ['error'] });
  gc = await GovernanceClient.connect({
    address: env.address,
    namespace: env.namespace,
    taskQueue: config.temporal.taskQueue,
  });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await gateway?.close();
  await worker?.shutdown();
  await gc?.close();
  await audit?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(): Promise<Client> {
  const client = new Client({ name: 'governed-e2e', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/everything`), {
      requestInit: { headers: { authorization: `Bearer ${KEY}` } },
    }),
  );
  clients.push(client);
  return client;
}

/** The pending operation for this call (visibility is eventually consistent: poll until it is listed). */
async function pendingFor(message: string): Promise<PendingOperation> {
  const hash = argsHash({ message });
  for (;;) {
    const ops = await gc.listPending({ tenant: TENANT });
    const op = ops.find((o) => o.state.argsHash === hash);
    if (op && op.state.status === 'pending') return op;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function text(result: unknown): string {
  const content = (result as { content?: Array<{ text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

describe('governed call through the gateway (require_approval, 2 approvers)', () => {
  it('waits for two approvals, then returns the echo result', async () => {
    const client = await connect();
    const call = client.callTool({ name: 'echo', arguments: { message: 'deploy-1' } });
    const op = await pendingFor('deploy-1');
    expect(op.state).toMatchObject({ tool: 'echo', server: 'everything', requiredApprovals: 2 });
    await gc.decide(op.operationId, { approver: 'alice@company.com', decision: 'approve', channel: 'cli' });
    await gc.decide(op.operationId, { approver: 'bob@company.com', decision: 'approve', channel: 'cli' });
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(text(result)).toBe('Echo: deploy-1');
    const final = await gc.state(op.operationId);
    expect(final.status).toBe('succeeded');
  }, 60_000);

  it('returns an isError result naming the rejecter', async () => {
    const client = await connect();
    const call = client.callTool({ name: 'echo', arguments: { message: 'deploy-2' } });
    const op = await pendingFor('deploy-2');
    await gc.decide(op.operationId, {
      approver: 'bob@company.com',
      decision: 'reject',
      reason: 'not during the freeze',
      channel: 'cli',
    });
    const result = await call;
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('bob@company.com');
    expect(text(result)).toContain('not during the freeze');
    expect(text(result)).toContain(op.operationId);
  }, 60_000);
});
