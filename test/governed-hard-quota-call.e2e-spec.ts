// Hard quotas on units known only after the call (bytes, compute seconds), end to end: the official MCP SDK client
// calls through the real gateway (server-everything upstream), the real worker reserves one unit before the call and
// commits the measured usage after it (even past the limit: the call happened), and the NEXT call is refused, for
// the SDK client and for the built `atom-gov call` (exit 10). `npm run build` first (the CLI runs from dist/).
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditEvent, type AuditStore, openAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { OPERATION_META_KEY } from '@atom-gov/contracts';
import { type RunningGateway, startGateway } from '@atom-gov/gateway';
import { GovernanceClient } from '@atom-gov/governance-client';
import { freePort } from '@atom-gov/mcp';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { type RunningWorker, startWorker } from '@atom-gov/worker';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { version as uuidVersion } from 'uuid';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const CLI = join(process.cwd(), 'apps/cli/bin/atom-gov.js');
const KEY = 'agk_quota_dev_0123456789';
const TENANT = `t-${randomUUID().slice(0, 8)}`;
/** Far less than one tiny image (a base64 PNG of some 1,500 bytes): one call takes the period past it. */
const BYTES_LIMIT = 1000;

let dir: string;
let configPath: string;
let audit: AuditStore;
let worker: RunningWorker;
let gateway: RunningGateway;
let gc: GovernanceClient;
let client: Client;

beforeAll(async () => {
  const env = temporalTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-hard-quota-'));
  writeFileSync(
    join(dir, 'quota.yaml'),
    `policy:
  name: image_bytes_hard
  trigger: { mcp_server: everything, operation: get-tiny-image }
  action:
    quota: { limit: ${BYTES_LIMIT}/day, resource: bytes, per: tenant, enforcement: hard }
---
policy:
  name: echo_compute_hard
  trigger: { mcp_server: everything, operation: echo }
  action:
    quota: { limit: 1/day, resource: compute_seconds, per: tenant, enforcement: hard }
`,
  );
  configPath = join(dir, 'mcp-governance.yaml');
  writeFileSync(
    configPath,
    `atom_gov:
  version: 1.0.0
  temporal: { address: ${env.address}, namespace: ${env.namespace}, task_queue: ${uniqueTaskQueue('hard-quota')} }
  gateway:
    host: 127.0.0.1
    port: ${await freePort()}
    api_keys:
      - name: dev
        sha256: ${createHash('sha256').update(KEY).digest('hex')}
        tenant: ${TENANT}
        user: dev@company.com
        roles: [dev]
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([everything, 'stdio'])}
  policy_files: [quota.yaml]
`,
  );
  const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
  worker = await startWorker({
    config,
    temporalAddress: env.address,
    registerSearchAttributes: true,
    retentionSchedule: false,
  });
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  gateway = await startGateway({ config, audit, temporalAddress: env.address, logger: ['error'] });
  gc = await GovernanceClient.connect({
    address: env.address,
    namespace: env.namespace,
    taskQueue: config.temporal.taskQueue,
  });
  client = new Client({ name: 'hard-quota-e2e', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/everything`), {
      requestInit: { headers: { authorization: `Bearer ${KEY}` } },
    }),
  );
}, 120_000);

afterAll(async () => {
  await client?.close();
  await gateway?.close();
  await worker?.shutdown();
  await gc?.close();
  await audit?.close();
  rmSync(dir, { recursive: true, force: true });
});

function text(result: { content?: unknown }): string {
  return ((result.content ?? []) as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
}

/** The gateway's own audit records of calls to `tool` (the workflow's records have uuid v5 ids), oldest first. */
async function gatewayRecords(tool: string): Promise<AuditEvent[]> {
  return (await audit.query({ tenant: TENANT, target: tool })).filter((e) => uuidVersion(e.id) !== 5).reverse();
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ATOM_GOV_API_KEY: KEY, ATOM_GOV_CONFIG: configPath, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('enforcement: hard on units measured after the call', () => {
  it('bytes: the call that takes the period past the limit runs and is committed in full; the next is refused', async () => {
    const first = await client.callTool({ name: 'get-tiny-image', arguments: {} });
    expect(first.isError).not.toBe(true);
    const [record] = await gatewayRecords('get-tiny-image');
    expect(record).toMatchObject({ decision: 'governed', outcome: 'ok' });
    const firstOp = await gc.result(record!.operationId!);
    const committed = firstOp.quotas[0]!;
    // One unit was reserved before the call; the measured response size replaced it afterwards, past the limit.
    expect(committed).toMatchObject({ resource: 'bytes', status: 'committed', reserved: 1, limit: BYTES_LIMIT });
    expect(committed.committed).toBe(firstOp.outcome?.responseBytes);
    expect(committed.committed).toBeGreaterThan(BYTES_LIMIT);

    const second = await client.callTool({ name: 'get-tiny-image', arguments: {} });
    expect(second.isError).toBe(true);
    expect(text(second)).toContain(`quota bytes of image_bytes_hard exceeded (${committed.committed}/${BYTES_LIMIT})`);
    const meta = (second._meta as Record<string, { status?: string; decisionReason?: string; operationId?: string }>)[
      OPERATION_META_KEY
    ];
    expect(meta).toMatchObject({ status: 'denied', decisionReason: 'quota_exceeded' });
    const secondOp = await gc.result(meta!.operationId!);
    expect(secondOp.quotas[0]).toMatchObject({ status: 'refused', overLimit: true });
    // Audited: the gateway's record of the refused call, and the workflow's quota refusal.
    const records = await gatewayRecords('get-tiny-image');
    expect(records.map((r) => r.outcome)).toEqual(['ok', 'denied']);
    const workflowRecords = (await audit.query({ tenant: TENANT, operationId: meta!.operationId! })).filter(
      (e) => uuidVersion(e.id) === 5,
    );
    expect(workflowRecords.map((e) => e.intent)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^quota_refused: quota bytes of image_bytes_hard exceeded/)]),
    );

    // The CI client hears the same refusal as a denial (exit 10).
    const ci = await cli(['call', '--server', 'everything', '--tool', 'get-tiny-image']);
    expect(ci.code).toBe(10);
    expect(ci.stdout).toBe('');
    expect(ci.stderr).toContain('quota bytes of image_bytes_hard exceeded');
  }, 90_000);

  it('compute seconds: one unit is reserved, so a call is refused once less than one second of the period is left', async () => {
    const first = await client.callTool({ name: 'echo', arguments: { message: 'quick' } });
    expect(text(first)).toBe('Echo: quick');
    const [record] = await gatewayRecords('echo');
    const used = (await gc.result(record!.operationId!)).quotas[0]!;
    expect(used).toMatchObject({ resource: 'compute_seconds', status: 'committed' });
    expect(used.committed).toBeGreaterThan(0);
    expect(used.committed).toBeLessThan(1); // far under the limit of 1 s ...
    const second = await client.callTool({ name: 'echo', arguments: { message: 'again' } });
    // ... and yet refused: used + the one reserved second would exceed it.
    expect(second.isError).toBe(true);
    expect(text(second)).toMatch(/quota compute_seconds of echo_compute_hard exceeded \(0\.\d+\/1\)/);
  }, 60_000);
});
