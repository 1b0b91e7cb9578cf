// The governed path end to end: the real gateway (GOVERNED_RUNNER on Temporal), the real worker running the
// governedOperation workflow on the suite's Temporal dev server, server-everything upstream, the official MCP SDK
// client as the assistant. Approvers decide through GovernanceClient while the client's call waits.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditEvent } from '@atom-gov/audit';
import { type PendingOperation } from '@atom-gov/governance-client';
import { type Client } from '@modelcontextprotocol/client';
import { version as uuidVersion } from 'uuid';
import { type GovernedStack, startGovernedStack } from './support/governed-stack.js';

const KEY = 'agk_dave_0123456789ab';
/** Progress cadence for this suite (the default is 5 s); the client's request timeout is shorter than the wait. */
const PROGRESS_MS = 400;
/** The assistant's request timeout in the progress test: ten notifications, a fraction of the wait for approval. */
const REQUEST_TIMEOUT_MS = 5000;

let stack: GovernedStack;

beforeAll(async () => {
  stack = await startGovernedStack({
    name: 'governed',
    keys: [{ name: 'dave', key: KEY, user: 'dave@company.com', roles: ['dev'] }],
    policies: {
      'approval.yaml': `policy:
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
      // defer: the call answers at once with the operation id; the same call repeated once decided proceeds / hears why.
      'defer.yaml': `policy:
  name: sum_deferred
  trigger:
    mcp_server: everything
    operation: get-sum
  action:
    require_approval:
      approvers: [alice@company.com]
      timeout: 5m
      approval_mode: defer
`,
      'timeout.yaml': `policy:
  name: env_needs_quick_answer
  trigger:
    mcp_server: everything
    operation: get-env
  action:
    require_approval:
      approvers: [alice@company.com]
      timeout: 2s
      on_timeout: deny
`,
      // Quota-only (no human): the usage committed is measured from the call (response bytes, duration).
      'usage.yaml': `policy:
  name: image_bytes
  trigger: { mcp_server: everything, operation: get-tiny-image }
  action:
    quota: { limit: 100000000/day, resource: bytes, per: tenant }
---
policy:
  name: image_compute
  trigger: { mcp_server: everything, operation: get-tiny-image }
  action:
    quota: { limit: 3600/day, resource: compute_seconds, per: user }
`,
    },
    gateway: { governedProgressEveryMs: PROGRESS_MS },
  });
}, 120_000);

afterAll(async () => stack?.close());

function connect(era: 'legacy' | '2026-07-28' = 'legacy'): Promise<Client> {
  return stack.connect(KEY, { client: era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: era } } } });
}

/** The pending operation for this call (visibility is eventually consistent: poll until it is listed). */
async function pendingFor(message: string): Promise<PendingOperation> {
  return pendingWith({ message });
}

const pendingWith = (args: Record<string, unknown>) => stack.pendingWith(args);

/** The gateway's own audit records of an operation's requests (the workflow's records have uuid v5 ids). */
const gatewayRecords = (operationId: string): Promise<AuditEvent[]> => stack.gatewayRecords({ operationId });

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
    await stack.gc.decide(op.operationId, { approver: 'alice@company.com', decision: 'approve', channel: 'cli' });
    await stack.gc.decide(op.operationId, { approver: 'bob@company.com', decision: 'approve', channel: 'cli' });
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(text(result)).toBe('Echo: deploy-1');
    const final = await stack.gc.result(op.operationId); // the outcome is a signal: wait for the run to finish
    expect(final.status).toBe('succeeded');
  }, 60_000);

  it('returns an isError result naming the rejecter', async () => {
    const client = await connect();
    const call = client.callTool({ name: 'echo', arguments: { message: 'deploy-2' } });
    const op = await pendingFor('deploy-2');
    await stack.gc.decide(op.operationId, {
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
    // The gateway's audit record of the refused call: governed, outcome denied (not ok).
    expect(await gatewayRecords(op.operationId)).toEqual([
      expect.objectContaining({ decision: 'governed', outcome: 'denied', target: 'echo', user: 'dave@company.com' }),
    ]);
  }, 60_000);
});

describe('quota usage reported from results', () => {
  it('commits the response size as bytes and the duration as compute seconds to the reservations', async () => {
    const client = await connect();
    const result = await client.callTool({ name: 'get-tiny-image', arguments: {} });
    expect(result.isError).not.toBe(true);
    const [record] = (await stack.audit.query({ tenant: stack.tenant, target: 'get-tiny-image' })).filter(
      (e) => uuidVersion(e.id) !== 5,
    );
    expect(record).toMatchObject({ decision: 'governed', outcome: 'ok' });
    const final = await stack.gc.result(record!.operationId!);
    expect(final.status).toBe('succeeded');
    const bytes = final.quotas.find((q) => q.resource === 'bytes');
    const compute = final.quotas.find((q) => q.resource === 'compute_seconds');
    expect(bytes).toMatchObject({ status: 'committed', committed: final.outcome?.responseBytes });
    expect(bytes!.committed).toBeGreaterThan(1000); // the image's base64 text
    expect(compute?.status).toBe('committed');
    expect(compute!.committed).toBeCloseTo((final.outcome?.durationMs ?? NaN) / 1000, 3);
  }, 60_000);
});

describe('the assistant while it waits', () => {
  it.each(['legacy', '2026-07-28'] as const)(
    'gets progress notifications that keep a short request timeout alive, then the result (%s)',
    async (era) => {
      const client = await connect(era);
      const message = `deploy-progress-${era}`;
      const seen: Array<{ progress: number; message?: string; at: number }> = [];
      const sent = Date.now();
      let notify: (() => void) | undefined;
      let failed: unknown;
      /** Resolves once `done()` holds for the notifications seen; rejects as soon as the call itself fails. */
      const until = (done: () => boolean) =>
        new Promise<void>((resolve, reject) => {
          notify = () => {
            if (failed !== undefined) reject(failed as Error);
            else if (done()) resolve();
          };
          notify();
        });
      // The request timeout is short next to the wait for approval, but not shorter than the gateway's time to its
      // first notification or the gaps between them (measured up to 2.5 s each at load 10-15: the operation has to reach
      // Temporal and the worker first, and each notification is a round trip to the workflow).
      const call = client.callTool(
        { name: 'echo', arguments: { message } },
        {
          timeout: REQUEST_TIMEOUT_MS,
          resetTimeoutOnProgress: true,
          onprogress: (p) => {
            seen.push({
              progress: p.progress,
              ...(p.message !== undefined ? { message: p.message } : {}),
              at: Date.now(),
            });
            notify?.();
          },
        },
      );
      call.catch((error: unknown) => {
        failed = error;
        notify?.();
      });
      const op = await Promise.race([
        pendingFor(message),
        call.then(() => Promise.reject(new Error('the call answered before its operation was listed as pending'))),
      ]);
      await until(() => seen.length >= 1);
      expect(seen[0]?.message).toMatch(
        new RegExp(`^waiting for approval: 0 of 2, expires in \\d+ min \\(operation ${op.operationId}\\)$`),
      );
      await stack.gc.decide(op.operationId, { approver: 'alice@company.com', decision: 'approve', channel: 'cli' });
      // Waiting past the request timeout (twice over, and 10 notifications) keeps the request alive: without progress
      // resetting it, the call would have failed REQUEST_TIMEOUT_MS after it was sent.
      await until(() => seen.length >= 10 && seen.at(-1)!.at - sent > 2 * REQUEST_TIMEOUT_MS);
      expect(seen.some((p) => p.message?.startsWith('waiting for approval: 1 of 2'))).toBe(true);
      await stack.gc.decide(op.operationId, { approver: 'bob@company.com', decision: 'approve', channel: 'cli' });
      const result = await call;
      expect(text(result)).toBe(`Echo: ${message}`);
      // Progress values increase strictly (an MCP requirement).
      expect(seen.every((p, i) => i === 0 || p.progress > seen[i - 1]!.progress)).toBe(true);
      expect(await gatewayRecords(op.operationId)).toEqual([
        expect.objectContaining({ decision: 'governed', outcome: 'ok', target: 'echo' }),
      ]);
    },
    60_000,
  );

  it('approval_mode defer: answers at once with the operation id; the repeated call proceeds once approved', async () => {
    const client = await connect();
    const args = { a: 2, b: 3 };
    const first = await client.callTool({ name: 'get-sum', arguments: args });
    expect(first.isError).not.toBe(true);
    const op = await pendingWith(args);
    expect(text(first)).toContain(op.operationId);
    expect(text(first)).toMatch(/Repeat the same call once approved/);
    // Repeated before a decision: still deferred, same operation (attached, approvers not asked twice).
    expect(text(await client.callTool({ name: 'get-sum', arguments: args }))).toContain(op.operationId);
    await stack.gc.decide(op.operationId, { approver: 'alice@company.com', decision: 'approve', channel: 'cli' });
    const again = await client.callTool({ name: 'get-sum', arguments: args });
    expect(again.isError).not.toBe(true);
    expect(text(again)).toBe('The sum of 2 and 3 is 5.');
    expect(await stack.gc.result(op.operationId)).toMatchObject({
      status: 'succeeded',
      approvals: [{ approver: 'alice@company.com' }],
    });
    const records = await gatewayRecords(op.operationId);
    expect(records.map((r) => r.outcome).sort()).toEqual(['ok', 'ok', 'ok']);
  }, 60_000);

  it('approval_mode defer: the repeated call after a rejection says who rejected and why', async () => {
    const client = await connect();
    const args = { a: 40, b: 2 };
    await client.callTool({ name: 'get-sum', arguments: args });
    const op = await pendingWith(args);
    await stack.gc.decide(op.operationId, {
      approver: 'alice@company.com',
      decision: 'reject',
      reason: 'use the staging sum',
      channel: 'cli',
    });
    const again = await client.callTool({ name: 'get-sum', arguments: args });
    expect(again.isError).toBe(true);
    expect(text(again)).toBe(
      `Denied: rejected by alice@company.com: use the staging sum (operation ${op.operationId})`,
    );
    expect(await stack.gc.result(op.operationId)).toMatchObject({ status: 'denied', decisionReason: 'rejected' });
    const outcomes = (await gatewayRecords(op.operationId)).map((r) => r.outcome).sort();
    expect(outcomes).toEqual(['denied', 'ok']);
  }, 60_000);

  it('an approval timeout says so, and is audited as a timeout', async () => {
    const client = await connect();
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(
      /^Denied: approval timed out: no decision within 2 s; denied by on_timeout: deny \(operation (op-[0-9a-f]{20})\)$/,
    );
    const operationId = /operation (op-[0-9a-f]{20})/.exec(text(result))![1]!;
    expect(await gatewayRecords(operationId)).toEqual([
      expect.objectContaining({ decision: 'governed', outcome: 'timeout', target: 'get-env' }),
    ]);
  }, 60_000);
});
