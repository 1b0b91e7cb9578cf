import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Client } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { type AuditStore, type QuotaStore } from '@atom-gov/audit';
import { operationWorkflowId, type GovernedOperationInput, type QuotaParams } from '@atom-gov/contracts';
import { type GovernanceClient, GovernanceError, runGovernedCall } from '@atom-gov/governance-client';
import { quotaCounterKey } from './governed-operation.activities.js';
import { GovernedTestEnv } from './testing/governed-test-env.js';

const env = new GovernedTestEnv('governed');
const { taskQueue, notifier } = env;
let auditStore: AuditStore;
let quotaStore: QuotaStore;
let bundle: WorkflowBundleWithSourceMap;
let client: Client;
let gc: GovernanceClient;
const startTestWorker = (): Promise<void> => env.startWorker();
const stopTestWorker = (): Promise<void> => env.stopWorker();

beforeAll(async () => {
  await env.start();
  ({ auditStore, quotaStore, bundle, client, gc } = env);
}, 120_000);

afterAll(() => env.close());

let seq = 0;
const QUOTA: QuotaParams = {
  rule: 'monthly_quota',
  resource: 'api_calls',
  per: 'tenant',
  scopeKey: 'acme',
  limit: 1000,
  periodMs: 30 * 86_400_000,
  reserve: 1,
  enforcement: 'hard',
};

function input(over: Partial<GovernedOperationInput> = {}, quota: Partial<QuotaParams> = {}): GovernedOperationInput {
  seq += 1;
  const key = `${taskQueue}-${seq}`;
  return {
    operationId: operationWorkflowId('acme', key),
    tenant: 'acme',
    requester: 'dev@company.com',
    roles: ['developer'],
    server: 'cloudflare_mcp',
    tool: 'workers.deploy',
    argsHash: 'a'.repeat(64),
    redactedArgs: '{"name":"api-prod-1"}',
    policy: 'production_deployment',
    policyVersion: 'v'.repeat(64),
    approval: {
      rule: 'production_deployment',
      approvers: ['ops-lead@company.com', 'cto@company.com', 'sre@company.com'],
      minApprovals: 2,
      timeoutMs: 60_000,
      onTimeout: 'deny',
      notify: ['slack://ops-channel'],
    },
    // Each test counts against its own counter, so usage assertions are exact.
    quotas: [{ ...QUOTA, scopeKey: `acme-${seq}`, ...quota }],
    requestedAt: new Date().toISOString(),
    approvalMode: 'wait',
    ...over,
  };
}

const usage = (i: GovernedOperationInput): Promise<number> => {
  const q = i.quotas?.[0];
  if (!q) throw new Error('test input without quota');
  return quotaStore.usage(quotaCounterKey(i.tenant, q), new Date(i.requestedAt), q.periodMs);
};

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(GovernanceError);
  await expect(p).rejects.toMatchObject({ code });
}

async function auditFor(operationId: string): Promise<string[]> {
  const events = await auditStore.query({ tenant: 'acme', limit: 10_000 });
  return events
    .filter((e) => e.operationId === operationId)
    .map((e) => (e.intent ?? '').split(':')[0] ?? '')
    .sort();
}

describe('governed operation workflow (real dev server)', () => {
  it('2-of-3 approval, retried call attaches, then the outcome commits the quota', async () => {
    const i = input();
    const first = await gc.startOrAttach(i, { maxWaitMs: 0 });
    expect(first).toMatchObject({ status: 'pending', requiredApprovals: 2, approvals: [] });
    expect(await usage(i)).toBe(1);

    const afterOne = await gc.decide(i.operationId, {
      approver: 'ops-lead@company.com',
      decision: 'approve',
      channel: 'slack',
    });
    expect(afterOne).toMatchObject({
      status: 'pending',
      approvals: [{ approver: 'ops-lead@company.com', channel: 'slack' }],
    });

    // The same call again (a retry) attaches to the same operation instead of asking again.
    const attached = await gc.startOrAttach({ ...i, requestedAt: new Date().toISOString() }, { maxWaitMs: 0 });
    expect(attached.approvals).toHaveLength(1);
    // Different arguments under the same id are refused.
    await expectCode(gc.startOrAttach({ ...i, argsHash: 'b'.repeat(64) }, { maxWaitMs: 0 }), 'Conflict');

    const decided = gc.awaitDecision(i.operationId);
    await gc.decide(i.operationId, {
      approver: 'CTO@company.com',
      decision: 'approve',
      channel: 'email',
      via: 'link-1',
    });
    expect(await decided).toMatchObject({ status: 'approved', decision: 'allow', decisionReason: 'approved' });

    const done = await gc.reportOutcome(i.operationId, {
      status: 'succeeded',
      usage: { api_calls: 1 },
      durationMs: 12,
    });
    expect(done.outcome?.status).toBe('succeeded');
    const final = await gc.result(i.operationId);
    expect(final).toMatchObject({ status: 'succeeded', closed: true, quotas: [{ status: 'committed', committed: 1 }] });
    expect(await usage(i)).toBe(1);
    for (const a of ['ops-lead@company.com', 'cto@company.com', 'sre@company.com', 'slack://ops-channel']) {
      expect(notifier.count(i.operationId, 'approval_requested', a)).toBe(1);
    }
    expect(await auditFor(i.operationId)).toEqual(['decided', 'outcome', 'requested', 'vote', 'vote']);
  }, 60_000);

  it('a rejection denies at once, says who and why, and releases the quota', async () => {
    const i = input();
    await gc.startOrAttach(i, { maxWaitMs: 0 });
    await gc.decide(i.operationId, {
      approver: 'sre@company.com',
      decision: 'reject',
      reason: 'change freeze',
      channel: 'cli',
    });
    const final = await gc.result(i.operationId);
    expect(final).toMatchObject({ status: 'denied', decisionReason: 'rejected', quotas: [{ status: 'released' }] });
    expect(final.message).toBe('rejected by sre@company.com: change freeze');
    expect(await usage(i)).toBe(0);
    // Decision after close.
    await expectCode(
      gc.decide(i.operationId, { approver: 'cto@company.com', decision: 'approve', channel: 'cli' }),
      'OperationClosed',
    );
  }, 60_000);

  it('timeout with on_timeout deny releases; with allow proceeds to the call', async () => {
    const deny = input({}, {});
    deny.approval = { ...deny.approval!, timeoutMs: 1500, onTimeout: 'deny' };
    const allow = input();
    allow.approval = { ...allow.approval!, timeoutMs: 1500, onTimeout: 'allow' };
    const [d, a] = await Promise.all([gc.startOrAttach(deny), gc.startOrAttach(allow)]);
    expect(d).toMatchObject({ decision: 'deny', decisionReason: 'timeout_deny' });
    expect(a).toMatchObject({ decision: 'allow', decisionReason: 'timeout_allow', status: 'approved' });
    expect((await gc.result(deny.operationId)).quotas[0]?.status).toBe('released');
    expect(await usage(deny)).toBe(0);
    await expectCode(
      gc.decide(allow.operationId, { approver: 'cto@company.com', decision: 'approve', channel: 'ui' }),
      'OperationClosed',
    );
    await gc.reportOutcome(allow.operationId, { status: 'succeeded' });
    expect(await gc.result(allow.operationId)).toMatchObject({ status: 'succeeded' });
    expect(await usage(allow)).toBe(1);
  }, 60_000);

  it('escalates after the delay: the escalation approver may decide only then', async () => {
    const i = input();
    i.approval = {
      ...i.approval!,
      approvers: ['ops-lead@company.com'],
      minApprovals: 1,
      escalation: { afterMs: 1000, approvers: ['cto@company.com'], notify: ['slack://exec-channel'] },
    };
    await gc.startOrAttach(i, { maxWaitMs: 0 });
    await expectCode(
      gc.decide(i.operationId, { approver: 'cto@company.com', decision: 'approve', channel: 'slack' }),
      'UnknownApprover',
    );
    await notifier.waitFor(
      (r) => r.state.operationId === i.operationId && r.kind === 'approval_escalated' && r.target === 'cto@company.com',
    );
    expect((await gc.state(i.operationId)).escalated).toBe(true);
    expect(notifier.count(i.operationId, 'approval_escalated', 'slack://exec-channel')).toBe(1);
    const s = await gc.decide(i.operationId, { approver: 'cto@company.com', decision: 'approve', channel: 'slack' });
    expect(s).toMatchObject({ status: 'approved', decision: 'allow' });
    await gc.reportOutcome(i.operationId, { status: 'failed', errorMessage: 'upstream 500' });
    expect(await gc.result(i.operationId)).toMatchObject({ status: 'failed', quotas: [{ status: 'released' }] });
    expect(await usage(i)).toBe(0);
  }, 60_000);

  it('refuses self-approval and counts a duplicate vote once; groups and roles qualify approvers', async () => {
    const i = input({ requester: 'ops-lead@company.com' });
    i.approval = { ...i.approval!, approvers: ['ops-lead@company.com', 'cto@company.com', 'group:sre'] };
    await gc.startOrAttach(i, { maxWaitMs: 0 });
    await expectCode(
      gc.decide(i.operationId, { approver: 'mailto:Ops-Lead@company.com', decision: 'approve', channel: 'cli' }),
      'SelfApproval',
    );
    await gc.decide(i.operationId, { approver: 'cto@company.com', decision: 'approve', channel: 'cli' });
    await expectCode(
      gc.decide(i.operationId, { approver: 'cto@company.com', decision: 'approve', channel: 'slack' }),
      'DuplicateVote',
    );
    await expectCode(
      gc.decide(i.operationId, { approver: 'eve@company.com', decision: 'approve', channel: 'cli' }),
      'UnknownApprover',
    );
    await expectCode(
      gc.decide(i.operationId, {
        approver: 'bob@company.com',
        decision: 'approve',
        channel: 'cli',
        argsHash: 'c'.repeat(64),
      }),
      'StaleApproval',
    );
    expect((await gc.state(i.operationId)).approvals).toHaveLength(1);
    const s = await gc.decide(i.operationId, {
      approver: 'bob@company.com',
      decision: 'approve',
      channel: 'cli',
      groups: ['sre'],
    });
    expect(s.status).toBe('approved');
    await gc.reportOutcome(i.operationId, { status: 'cancelled' });
    expect(await gc.result(i.operationId)).toMatchObject({ status: 'cancelled', quotas: [{ status: 'released' }] });
    expect(await usage(i)).toBe(0);

    const anyApprover = input();
    anyApprover.approval = { ...anyApprover.approval!, approvers: [], minApprovals: 1 };
    await gc.startOrAttach(anyApprover, { maxWaitMs: 0 });
    await expectCode(
      gc.decide(anyApprover.operationId, {
        approver: 'x@company.com',
        decision: 'approve',
        channel: 'cli',
        roles: ['developer'],
      }),
      'UnknownApprover',
    );
    expect(
      (
        await gc.decide(anyApprover.operationId, {
          approver: 'x@company.com',
          decision: 'approve',
          channel: 'cli',
          roles: ['approver'],
        })
      ).status,
    ).toBe('approved');
    await gc.cancel(anyApprover.operationId);
    expect(await gc.result(anyApprover.operationId)).toMatchObject({
      status: 'cancelled',
      quotas: [{ status: 'released' }],
    });
  }, 60_000);

  it('releases the quota when cancelled while pending, refuses over a hard quota, and expires without an outcome', async () => {
    const pending = input();
    await gc.startOrAttach(pending, { maxWaitMs: 0 });
    expect(await usage(pending)).toBe(1);
    await gc.cancel(pending.operationId);
    expect(await gc.result(pending.operationId)).toMatchObject({ status: 'cancelled', decisionReason: 'cancelled' });
    expect(await usage(pending)).toBe(0);

    const over = input({}, { limit: 0 });
    const s = await gc.startOrAttach(over);
    expect(s).toMatchObject({ decision: 'deny', decisionReason: 'quota_exceeded', quotas: [{ status: 'refused' }] });
    expect(notifier.count(over.operationId, 'approval_requested', 'cto@company.com')).toBe(0);

    const noOutcome = input({ approval: undefined, outcomeTimeoutMs: 1000 });
    expect(await gc.startOrAttach(noOutcome)).toMatchObject({ decision: 'allow', decisionReason: 'not_required' });
    expect(await gc.result(noOutcome.operationId)).toMatchObject({
      status: 'expired',
      quotas: [{ status: 'released' }],
    });
    expect(await usage(noOutcome)).toBe(0);
  }, 60_000);

  it('audits a failed notification and still completes the approval', async () => {
    const i = input();
    i.approval = { ...i.approval!, minApprovals: 1, notify: ['slack://broken-channel'] };
    notifier.failTargets.add('slack://broken-channel');
    await gc.startOrAttach(i, { maxWaitMs: 0 });
    await gc.decide(i.operationId, { approver: 'sre@company.com', decision: 'approve', channel: 'slack' });
    await gc.reportOutcome(i.operationId, { status: 'succeeded' });
    expect((await gc.result(i.operationId)).status).toBe('succeeded');
    expect(await auditFor(i.operationId)).toContain('notification_failed');
  }, 60_000);

  it('survives a worker killed mid-approval: a new worker finishes, each approver notified once; history replays', async () => {
    const i = input();
    await gc.startOrAttach(i, { maxWaitMs: 0 });
    await Promise.all(
      i.approval!.approvers.map((a) =>
        notifier.waitFor((r) => r.state.operationId === i.operationId && r.target === a),
      ),
    );
    await gc.decide(i.operationId, { approver: 'ops-lead@company.com', decision: 'approve', channel: 'slack' });
    await stopTestWorker();
    const decide = gc.decide(i.operationId, { approver: 'sre@company.com', decision: 'approve', channel: 'email' });
    await startTestWorker();
    expect((await decide).status).toBe('approved');
    await gc.reportOutcome(i.operationId, { status: 'succeeded' });
    expect((await gc.result(i.operationId)).status).toBe('succeeded');
    for (const a of i.approval!.approvers) expect(notifier.count(i.operationId, 'approval_requested', a)).toBe(1);

    const history = await client.workflow.getHandle(i.operationId).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, i.operationId)).resolves.toBeUndefined();
  }, 90_000);

  it('runGovernedCall: progress while waiting, forwards once approved, defer mode answers at once then proceeds', async () => {
    const i = input();
    i.approval = { ...i.approval!, minApprovals: 1 };
    const progress: string[] = [];
    let forwarded = 0;
    const outcome = await runGovernedCall(
      gc,
      i,
      async () => {
        forwarded += 1;
        return { content: [{ type: 'text', text: 'deployed' }] };
      },
      {
        progressEveryMs: 200,
        onProgress: (_s, text) => {
          progress.push(text);
          if (progress.length === 1)
            void gc.decide(i.operationId, { approver: 'cto@company.com', decision: 'approve', channel: 'slack' });
        },
        usage: () => ({ api_calls: 2 }),
      },
    );
    expect(outcome.kind).toBe('forwarded');
    expect(forwarded).toBe(1);
    expect(progress[0]).toMatch(/^waiting for approval: 0 of 1, expires in 1 min \(operation op-/);
    // The outcome went as a signal: the workflow commits the reported usage after the call returned.
    expect(await gc.result(i.operationId)).toMatchObject({ status: 'succeeded', quotas: [{ committed: 2 }] });
    expect(await usage(i)).toBe(2);

    const d = input({ approvalMode: 'defer' });
    d.approval = { ...d.approval!, minApprovals: 1 };
    const first = await runGovernedCall(gc, d, async () => ({ content: [] }));
    expect(first).toMatchObject({ kind: 'deferred', message: expect.stringContaining(`operation ${d.operationId}`) });
    await gc.decide(d.operationId, { approver: 'sre@company.com', decision: 'approve', channel: 'email' });
    const again = await runGovernedCall(gc, { ...d, requestedAt: new Date().toISOString() }, async () => ({
      content: [],
      isError: true,
    }));
    // The outcome signal is durable before the call returns; the run then releases the quota and finishes.
    expect(again).toMatchObject({ kind: 'forwarded', state: { outcome: { status: 'failed' } } });
    expect(await gc.result(d.operationId)).toMatchObject({ status: 'failed', quotas: [{ status: 'released' }] });
    expect(await usage(d)).toBe(0);

    const r = input();
    const rejected = runGovernedCall(gc, r, async () => ({ content: [] }), {
      progressEveryMs: 200,
      onProgress: () =>
        void gc
          .decide(r.operationId, {
            approver: 'cto@company.com',
            decision: 'reject',
            reason: 'not today',
            channel: 'cli',
          })
          .catch(() => undefined),
    });
    await expect(rejected).resolves.toMatchObject({
      kind: 'denied',
      message: expect.stringContaining('rejected by cto@company.com: not today'),
    });

    // The caller goes away while waiting: the operation is cancelled and its reservation released.
    const a = input();
    const controller = new AbortController();
    const gone = runGovernedCall(gc, a, async () => ({ content: [] }), {
      signal: controller.signal,
      progressEveryMs: 200,
      onProgress: () => controller.abort(),
    });
    await expect(gone).rejects.toThrow();
    expect(await gc.result(a.operationId)).toMatchObject({ status: 'cancelled', quotas: [{ status: 'released' }] });
    expect(await usage(a)).toBe(0);

    // The caller is gone before the start has even reached Temporal: the cancellation waits for the start, so the
    // operation does not stay pending (asking approvers for a call nobody waits for).
    const early = input();
    const left = new AbortController();
    left.abort();
    await expect(
      runGovernedCall(gc, early, async () => ({ content: [] }), { signal: left.signal, progressEveryMs: 200 }),
    ).rejects.toThrow();
    expect(await gc.result(early.operationId)).toMatchObject({ status: 'cancelled', quotas: [{ status: 'released' }] });
    expect(await usage(early)).toBe(0);
  }, 60_000);
});
