import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { openAuditStore, openQuotaStore, type AuditStore, type QuotaStore } from '@atom-gov/audit';
import { operationWorkflowId, type GovernedOperationInput } from '@atom-gov/contracts';
import { GovernanceClient } from '@atom-gov/governance-client';
import { loadTestConfig, temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { createActivities, workflowsSource } from '@atom-gov/worker';
import { CliError } from '../run-cli.js';
import { decideFromCli } from './approve.command.js';

const temporal = temporalTestEnv();
const taskQueue = uniqueTaskQueue('cli-approve');
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const KEYS = { operator: 'op-key-1234567890', cto: 'cto-key-1234567890', dev: 'dev-key-1234567890' };
let dir: string;
let configPath: string;
let audit: AuditStore;
let quotas: QuotaStore;
let worker: Worker;
let running: Promise<void>;
let nc: NativeConnection;
let connection: Connection;
let gc: GovernanceClient;

beforeAll(async () => {
  const loaded = await loadTestConfig(
    [
      `  temporal:\n    address: ${temporal.address}\n    namespace: ${temporal.namespace}\n    task_queue: ${taskQueue}`,
      '  gateway:\n    api_keys:',
      `      - { name: ops-console, sha256: ${sha(KEYS.operator)}, tenant: acme, user: console, roles: [operator] }`,
      `      - { name: cto, sha256: ${sha(KEYS.cto)}, tenant: acme, user: cto@company.com, roles: [approver] }`,
      `      - { name: dev, sha256: ${sha(KEYS.dev)}, tenant: acme, user: dev@company.com, roles: [developer] }`,
      '',
    ].join('\n'),
  );
  dir = loaded.dir;
  configPath = loaded.config.configPath;
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  quotas = await openQuotaStore({ sqlitePath: join(dir, 'audit.sqlite') });
  nc = await NativeConnection.connect({ address: temporal.address });
  const source = workflowsSource();
  worker = await Worker.create({
    connection: nc,
    namespace: temporal.namespace,
    taskQueue,
    workflowsPath: source.workflowsPath,
    bundlerOptions: { webpackConfigHook: source.webpackConfigHook },
    activities: createActivities({
      identity: 'cli-test',
      taskQueue,
      startedAt: new Date(),
      governance: { audit, quotas, notifiers: { send: async () => ({ delivered: true }) } },
    }),
  });
  running = worker.run();
  connection = await Connection.connect({ address: temporal.address });
  gc = new GovernanceClient({ client: new Client({ connection, namespace: temporal.namespace }), taskQueue });
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await nc?.close();
  await connection?.close();
  await quotas?.close();
  await audit?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function input(tenant = 'acme'): GovernedOperationInput {
  n += 1;
  return {
    operationId: operationWorkflowId(tenant, `${taskQueue}-${n}`),
    tenant,
    requester: 'dev@company.com',
    roles: ['developer'],
    server: 'cloudflare_mcp',
    tool: 'workers.deploy',
    argsHash: 'a'.repeat(64),
    redactedArgs: '{}',
    policy: 'production_deployment',
    policyVersion: 'v1',
    approval: {
      rule: 'production_deployment',
      approvers: ['ops-lead@company.com', 'cto@company.com'],
      minApprovals: 2,
      timeoutMs: 60_000,
      onTimeout: 'deny',
      notify: [],
    },
    requestedAt: new Date().toISOString(),
    approvalMode: 'wait',
  };
}

async function exitCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (error) {
    if (error instanceof CliError) return error.exitCode;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('atom-gov approve / reject / pending', () => {
  it('records decisions with operator and approver credentials and refuses the rest with distinct exit codes', async () => {
    const i = input();
    await gc.startOrAttach(i, { maxWaitMs: 0 });
    const base = { config: configPath, operation: i.operationId };

    expect(await exitCode(decideFromCli('approve', { ...base, approver: 'ops-lead@company.com' }))).toBe(3); // no key
    expect(await exitCode(decideFromCli('approve', { ...base, approver: 'dev@company.com', apiKey: KEYS.dev }))).toBe(
      3,
    );
    expect(
      await exitCode(decideFromCli('approve', { ...base, approver: 'ops-lead@company.com', apiKey: KEYS.cto })),
    ).toBe(3);
    expect(
      await exitCode(
        decideFromCli('approve', { ...base, operation: 'op-12345', apiKey: KEYS.operator, approver: 'x@y' }),
      ),
    ).toBe(2);
    expect(
      await exitCode(
        decideFromCli('approve', {
          ...base,
          operation: operationWorkflowId('acme', 'nope'),
          apiKey: KEYS.operator,
          approver: 'ops-lead@company.com',
        }),
      ),
    ).toBe(5);
    expect(
      await exitCode(decideFromCli('approve', { ...base, approver: 'eve@company.com', apiKey: KEYS.operator })),
    ).toBe(4);

    const out = await decideFromCli('approve', {
      ...base,
      approver: 'ops-lead@company.com',
      apiKey: KEYS.operator,
      reason: 'looks fine',
    });
    expect(out).toContain('approvals: 1 of 2');
    expect(out).toContain('approve by ops-lead@company.com via cli');
    await expect(
      decideFromCli('approve', { ...base, approver: 'ops-lead@company.com', apiKey: KEYS.operator }),
    ).rejects.toThrow(/DuplicateVote/);

    // The approver's own key: decides as itself, without --approver.
    const final = await decideFromCli('approve', { ...base, apiKey: KEYS.cto });
    expect(final).toContain('approved (approved)');
    expect((await gc.state(i.operationId)).approvals.map((v) => v.via)).toEqual(['cli:key:ops-console', 'cli:key:cto']);
  }, 60_000);

  it('reject needs a reason and denies; pending lists open operations per tenant', async () => {
    const a = input();
    const other = input('globex');
    await Promise.all([gc.startOrAttach(a, { maxWaitMs: 0 }), gc.startOrAttach(other, { maxWaitMs: 0 })]);
    // Visibility is eventually consistent: poll until both operations are listed.
    let acme = await gc.listPending({ tenant: 'acme' });
    for (let tries = 0; tries < 50 && !acme.some((p) => p.operationId === a.operationId); tries += 1) {
      await new Promise((r) => setTimeout(r, 100));
      acme = await gc.listPending({ tenant: 'acme' });
    }
    expect(acme.map((p) => p.operationId)).toContain(a.operationId);
    expect(acme.map((p) => p.operationId)).not.toContain(other.operationId);

    expect(
      await exitCode(decideFromCli('reject', { config: configPath, operation: a.operationId, apiKey: KEYS.cto })),
    ).toBe(2);
    // A tenant-bound key cannot reach another tenant's operation.
    expect(
      await exitCode(
        decideFromCli('reject', { config: configPath, operation: other.operationId, apiKey: KEYS.cto, reason: 'no' }),
      ),
    ).toBe(5);
    const out = await decideFromCli('reject', {
      config: configPath,
      operation: a.operationId,
      apiKey: KEYS.cto,
      reason: 'change freeze',
    });
    expect(out).toContain('denied (rejected)');
    expect(out).toContain('rejected by cto@company.com: change freeze');
    await gc.cancel(other.operationId);
  }, 60_000);
});
