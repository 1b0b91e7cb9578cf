// Eager reservation of quota-only governed calls, on the real dev server and a real SQLite quota store: the gateway's
// client code (runGovernedCall with the quota store) starts the workflow, reserves itself and decides without a
// worker; the workflow records the reported reservation, audits, commits or releases. Cases: decided and forwarded
// while no worker runs (the workflow commits once one is back, alert included, and its history replays), a hard
// refusal, a gateway that dies after reserving (released by the timeout), a retried call that reserves once, and
// Temporal lost while the call runs (the gateway commits the usage directly in the quota store).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { type AuditStore, type QuotaStore } from '@atom-gov/audit';
import {
  operationWorkflowId,
  quotaCounterKey,
  SEARCH_ATTRIBUTES,
  type GovernedOperationInput,
  type QuotaParams,
  type QuotaStoreReserveRequest,
} from '@atom-gov/contracts';
import { startDevServer } from '@atom-gov/devserver';
import { GovernanceClient, runGovernedCall, type CallResult } from '@atom-gov/governance-client';
import { GovernedTestEnv } from './testing/governed-test-env.js';

const env = new GovernedTestEnv('governed-eager');
const { temporal, taskQueue, notifier } = env;
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
function quotaOnly(
  quota: Partial<QuotaParams> = {},
  over: Partial<GovernedOperationInput> = {},
): GovernedOperationInput {
  seq += 1;
  return {
    operationId: operationWorkflowId('acme', `${taskQueue}-${seq}`),
    tenant: 'acme',
    requester: 'ci@company.com',
    roles: ['ci'],
    server: 'perplexity_mcp',
    tool: 'research.query',
    argsHash: 'a'.repeat(64),
    redactedArgs: '{"q":"..."}',
    policy: 'monthly_quota',
    policyVersion: 'v'.repeat(64),
    // Each test counts against its own counter, so usage assertions are exact.
    quotas: [
      {
        rule: 'monthly_quota',
        resource: 'api_calls',
        per: 'tenant',
        scopeKey: `acme-${seq}`,
        limit: 100,
        periodMs: 30 * 86_400_000,
        reserve: 1,
        enforcement: 'hard',
        ...quota,
      },
    ],
    requestedAt: new Date().toISOString(),
    approvalMode: 'wait',
    ...over,
  };
}

const usage = (i: GovernedOperationInput): Promise<number> => {
  const q = i.quotas![0]!;
  return quotaStore.usage(quotaCounterKey(i.tenant, q), new Date(i.requestedAt), q.periodMs);
};

async function auditFor(operationId: string): Promise<string[]> {
  const events = await auditStore.query({ tenant: 'acme', operationId, limit: 1000 });
  return events.map((e) => (e.intent ?? '').split(':')[0] ?? '').sort();
}

const ok = (text: string): CallResult => ({ content: [{ type: 'text', text }] });

describe('eager reservation of quota-only governed calls (real dev server, real quota store)', () => {
  it('decides and forwards with no worker running; the workflow commits and alerts once a worker is back, and replays', async () => {
    await stopTestWorker();
    const i = quotaOnly({ enforcement: 'soft', limit: 2, alertThreshold: 0.5, notify: ['slack://ops-channel'] });
    let forwarded = 0;
    const out = await runGovernedCall(
      gc,
      i,
      async () => {
        forwarded += 1;
        return ok('answer');
      },
      { quotaStore, usage: () => ({ api_calls: 1 }) },
    );
    expect(out).toMatchObject({ kind: 'forwarded', result: ok('answer') });
    expect(forwarded).toBe(1);
    // Reserved in the shared store before forwarding, and the operation still runs: nobody has run its first task.
    expect(await usage(i)).toBe(1);
    expect((await client.workflow.getHandle(i.operationId).describe()).status.name).toBe('RUNNING');
    expect(await auditFor(i.operationId)).toEqual([]);

    await startTestWorker();
    const final = await gc.result(i.operationId);
    expect(final).toMatchObject({
      status: 'succeeded',
      decision: 'allow',
      decisionReason: 'not_required',
      quotas: [{ status: 'committed', reserved: 1, committed: 1, used: 1, limit: 2 }],
      closed: true,
    });
    expect(final.quotas[0]?.reservationId).toBe(
      `${i.operationId}:${(await client.workflow.getHandle(i.operationId).describe()).runId}:q0:monthly_quota:api_calls`,
    );
    expect(await usage(i)).toBe(1);
    // The same audit records as a worker-reserved quota-only call.
    expect(await auditFor(i.operationId)).toEqual(['decided', 'outcome', 'requested']);
    // alert_threshold 50% crossed by this reservation: notified from the reported result, once.
    expect(
      notifier.sent
        .filter((r) => r.kind === 'quota_alert' && r.state.operationId === i.operationId)
        .map((r) => r.target),
    ).toEqual(['slack://ops-channel']);

    const history = await client.workflow.getHandle(i.operationId).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, i.operationId)).resolves.toBeUndefined();
  }, 90_000);

  it('refuses over a hard quota with the usual message; the workflow records the refusal', async () => {
    const i = quotaOnly({ limit: 0 });
    let forwarded = 0;
    const out = await runGovernedCall(
      gc,
      i,
      async () => {
        forwarded += 1;
        return ok('never');
      },
      { quotaStore },
    );
    expect(forwarded).toBe(0);
    expect(out).toMatchObject({
      kind: 'denied',
      message: `Denied by policy monthly_quota: quota api_calls of monthly_quota exceeded (0/0) (operation ${i.operationId})`,
      state: { decision: 'deny', decisionReason: 'quota_exceeded' },
    });
    expect(await gc.result(i.operationId)).toMatchObject({
      status: 'denied',
      decisionReason: 'quota_exceeded',
      message: 'quota api_calls of monthly_quota exceeded (0/0)',
      quotas: [{ status: 'refused', overLimit: true }],
    });
    expect(await usage(i)).toBe(0);
    expect(await auditFor(i.operationId)).toEqual(['decided', 'quota_refused', 'requested']);
  }, 60_000);

  it('a gateway that dies after reserving: the workflow releases the reservation at the outcome timeout', async () => {
    const i = quotaOnly({}, { outcomeTimeoutMs: 1500 });
    let reservedId: string | undefined;
    let reserved!: () => void;
    const reservedNow = new Promise<void>((resolve) => (reserved = resolve));
    // The real store; after the reserve is durable this "gateway" never answers again (as if SIGKILLed there).
    const dying = {
      async reserve(r: QuotaStoreReserveRequest) {
        await quotaStore.reserve(r);
        reservedId = r.reservationId;
        reserved();
        return new Promise<never>(() => undefined);
      },
    };
    void runGovernedCall(gc, i, async () => ok('never'), { quotaStore: dying });
    await reservedNow;
    expect(await usage(i)).toBe(1);

    const final = await gc.result(i.operationId);
    expect(final).toMatchObject({
      status: 'expired',
      message: 'no quota reservation reported by the gateway in time; reservation released',
    });
    expect(final.decision).toBeUndefined();
    expect(await usage(i)).toBe(0);
    expect(await quotaStore.reservation(reservedId!)).toMatchObject({ status: 'released', amount: 1 });
    expect(await auditFor(i.operationId)).toEqual(['expired', 'requested']);
  }, 60_000);

  it('a retried call attaches to the running operation: same reservation, same decision, reserved once', async () => {
    // Limit 1, hard: a second reservation would be refused, so the retry's allow shows the reserve was idempotent.
    const i = quotaOnly({ limit: 1 });
    let release!: () => void;
    const upstream = new Promise<void>((resolve) => (release = resolve));
    let forwardedFirst!: () => void;
    const firstForwarded = new Promise<void>((resolve) => (forwardedFirst = resolve));
    const first = runGovernedCall(
      gc,
      i,
      async () => {
        forwardedFirst();
        await upstream; // the first attempt's call is still running when the caller retries
        return ok('first');
      },
      { quotaStore },
    );
    await firstForwarded;
    expect(await usage(i)).toBe(1);
    const retry = await runGovernedCall(gc, i, async () => ok('retry'), { quotaStore });
    expect(retry).toMatchObject({ kind: 'forwarded', result: ok('retry'), state: { decision: 'allow' } });
    expect(await usage(i)).toBe(1);
    release();
    // The retry reported first and closed the operation; the first attempt's late report is either ignored by the
    // still-open run or refused as closed (as for any second report), never counted.
    const late = await first.then(
      (r) => r.kind,
      (e: { code?: string }) => e.code,
    );
    expect(['forwarded', 'OperationClosed']).toContain(late);

    const final = await gc.result(i.operationId);
    expect(final).toMatchObject({ status: 'succeeded', quotas: [{ status: 'committed', committed: 1 }] });
    expect(final.quotas).toHaveLength(1);
    expect(await usage(i)).toBe(1);
    // Another call (a different operation) is refused now: the limit was reached once, not twice.
    const other = await runGovernedCall(gc, { ...quotaOnly(), quotas: i.quotas }, async () => ok('x'), {
      quotaStore,
    });
    expect(other).toMatchObject({ kind: 'denied', state: { decisionReason: 'quota_exceeded' } });
  }, 60_000);
});

describe('eager reservation: an attaching call is checked against the running operation', () => {
  it('refuses a different call whose operation id collides (arguments hash differs), reserving nothing', async () => {
    const i = quotaOnly({ limit: 5 });
    let release!: () => void;
    const upstream = new Promise<void>((resolve) => (release = resolve));
    let forwardedFirst!: () => void;
    const firstForwarded = new Promise<void>((resolve) => (forwardedFirst = resolve));
    const first = runGovernedCall(
      gc,
      i,
      async () => {
        forwardedFirst();
        await upstream;
        return ok('first');
      },
      { quotaStore },
    );
    await firstForwarded;
    // Same operation id (as a digest collision would give), other arguments: must not ride on the first's run.
    const other: GovernedOperationInput = { ...i, argsHash: 'b'.repeat(64), requestedAt: new Date().toISOString() };
    let forwardedOther = 0;
    await expect(
      runGovernedCall(gc, other, async () => ((forwardedOther += 1), ok('other')), { quotaStore }),
    ).rejects.toMatchObject({
      code: 'Conflict',
      message: expect.stringContaining(`operation ${i.operationId} is running for another call (argsHash differs)`),
    });
    expect(forwardedOther).toBe(0);
    expect(await usage(i)).toBe(1);
    // The same call again attaches as before.
    expect(await runGovernedCall(gc, i, async () => ok('retry'), { quotaStore })).toMatchObject({ kind: 'forwarded' });
    release();
    await first.catch(() => undefined);
    expect(await gc.result(i.operationId)).toMatchObject({ status: 'succeeded', quotas: [{ committed: 1 }] });
    expect(await usage(i)).toBe(1);
  }, 60_000);
});

describe('eager reservation when Temporal goes away during the call (own dev server, stopped)', () => {
  it('commits the usage of a call that ran directly in the quota store; the next call is refused before reserving', async () => {
    const server = await startDevServer({
      temporalCli: temporal.cli,
      headless: true,
      searchAttributes: SEARCH_ATTRIBUTES,
    });
    const own = await Connection.connect({ address: server.address });
    const lostGc = new GovernanceClient({
      client: new Client({ connection: own, namespace: server.namespace }),
      taskQueue,
    });
    try {
      const ran = quotaOnly({ enforcement: 'hard', limit: 5 });
      const failed = quotaOnly({ enforcement: 'hard', limit: 5 });
      let reservationOf: Record<string, string> = {};
      const store = {
        reserve: async (r: QuotaStoreReserveRequest) => {
          reservationOf = { ...reservationOf, [r.tenant + r.counterKey]: r.reservationId };
          return quotaStore.reserve(r);
        },
        commit: (id: string, used: number) => quotaStore.commit(id, used),
        release: (id: string) => quotaStore.release(id),
      };
      // Both calls are granted while Temporal is up; it dies while the second one runs, before any report.
      const first = runGovernedCall(
        lostGc,
        ran,
        async () => {
          await server.stop();
          return ok('ran while Temporal went away');
        },
        { quotaStore: store, usage: () => ({ api_calls: 2 }), reportDeadlineMs: 2000 },
      );
      const out = await first;
      // The call ran, so the caller gets its result; its usage (2, as measured) is committed by the gateway.
      expect(out).toMatchObject({ kind: 'forwarded', result: ok('ran while Temporal went away') });
      expect(await usage(ran)).toBe(2);
      const id = reservationOf[ran.tenant + quotaCounterKey(ran.tenant, ran.quotas![0]!)]!;
      expect(await quotaStore.reservation(id)).toMatchObject({ status: 'committed' });
      // Temporal is gone before the next call starts: it is refused before anything is reserved (fail closed).
      await expect(
        runGovernedCall(lostGc, failed, async () => ok('never'), { quotaStore: store }),
      ).rejects.toMatchObject({ code: 'Unavailable' });
      expect(await usage(failed)).toBe(0);
      // Idempotent with the workflow's release at its timeout: releasing a committed reservation leaves it committed.
      await quotaStore.release(id);
      expect(await usage(ran)).toBe(2);
    } finally {
      await own.close();
      await server.stop();
    }
  }, 90_000);
});
