import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { openAuditStore, openQuotaStore, type AuditStore, type QuotaStore } from '@atom-gov/audit';
import { type NotificationRequest, type OperationAuditRecord, type OperationState } from '@atom-gov/contracts';
import { auditEventId, createGovernedOperationActivities } from './governed-operation.activities.js';
import { NotifierRegistry, targetScheme } from './notifier-registry.js';

let dir: string;
let audit: AuditStore;
let quotas: QuotaStore;
const env = new MockActivityEnvironment();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-act-'));
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  quotas = await openQuotaStore({ sqlitePath: join(dir, 'audit.sqlite') });
});
afterAll(async () => {
  await quotas.close();
  await audit.close();
  rmSync(dir, { recursive: true, force: true });
});

const record: OperationAuditRecord = {
  id: 'op-0123456789abcdef0123:vote:cto@company.com',
  event: 'vote',
  time: '2026-11-24T12:00:00.000Z',
  tenant: 'acme',
  user: 'dev@company.com',
  server: 'cloudflare_mcp',
  method: 'tools/call',
  target: 'workers.deploy',
  decision: 'governed',
  policy: 'production_deployment',
  rules: ['production_deployment'],
  configVersion: 'v1',
  outcome: 'ok',
  durationMs: 0,
  requestBytes: 0,
  responseBytes: 0,
  intent: 'approve by cto@company.com via slack',
  operationId: 'op-0123456789abcdef0123',
};

describe('governed operation activities', () => {
  it('writes one audit event per idempotency key, with a stable UUID', async () => {
    const acts = createGovernedOperationActivities({ audit, quotas, notifiers: new NotifierRegistry() });
    await env.run(acts.recordAudit, record);
    await env.run(acts.recordAudit, record);
    const events = (await audit.query({ tenant: 'acme' })).filter((e) => e.operationId === record.operationId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: auditEventId(record.id),
      intent: 'vote: approve by cto@company.com via slack',
    });
  });

  it('reserves, releases and commits through the quota store', async () => {
    const acts = createGovernedOperationActivities({ audit, quotas, notifiers: new NotifierRegistry() });
    const quota = {
      rule: 'r',
      resource: 'api_calls',
      per: 'tenant' as const,
      scopeKey: 'acme',
      limit: 1,
      reserve: 1,
      enforcement: 'hard' as const,
      alertThreshold: 0.8,
    };
    const at = '2026-11-24T12:00:00.000Z';
    const base = { tenant: 'acme', operationId: 'op-x', quota, at };
    expect(await env.run(acts.reserveQuota, { ...base, reservationId: 'a' })).toMatchObject({
      granted: true,
      alert: true,
    });
    expect(await env.run(acts.reserveQuota, { ...base, reservationId: 'b' })).toMatchObject({ granted: false });
    await env.run(acts.releaseQuota, { reservationId: 'a' });
    expect(await env.run(acts.reserveQuota, { ...base, reservationId: 'c' })).toMatchObject({ granted: true, used: 1 });
    await env.run(acts.commitQuota, { reservationId: 'c', used: 1 });
    expect((await quotas.reservation('c'))?.status).toBe('committed');
  });

  it('settles an operation in one activity: records, commits and releases, idempotent when retried', async () => {
    const acts = createGovernedOperationActivities({ audit, quotas, notifiers: new NotifierRegistry() });
    const quota = { limit: 10, amount: 1, enforcement: 'hard' as const, at: new Date('2026-11-24T12:00:00.000Z') };
    const counterKey = 'acme|tenant:settle|r|api_calls';
    for (const id of ['s1', 's2'])
      await quotas.reserve({ ...quota, reservationId: id, tenant: 'acme', counterKey, periodMs: 86_400_000 });
    const records = ['requested', 'decided', 'outcome'].map((event) => ({
      ...record,
      id: `op-settle:run:${event}`,
      event: event as OperationAuditRecord['event'],
      operationId: 'op-settle',
    }));
    const settle = { records, commits: [{ reservationId: 's1', used: 3 }], releases: ['s2', 'never-reserved'] };
    await env.run(acts.settleOperation, settle);
    await env.run(acts.settleOperation, settle); // a retried local activity changes nothing
    expect(await quotas.reservation('s1')).toMatchObject({ status: 'committed' });
    expect(await quotas.reservation('s2')).toMatchObject({ status: 'released' });
    expect(await quotas.reservation('never-reserved')).toMatchObject({ status: 'released' });
    expect(await quotas.usage(counterKey, quota.at, 86_400_000)).toBe(3);
    const stored = await audit.query({ tenant: 'acme', operationId: 'op-settle', limit: 10 });
    expect(stored.map((e) => e.intent?.split(':')[0]).sort()).toEqual(['decided', 'outcome', 'requested']);
  });

  it('routes notifications by scheme and fails non-retryably for an unconfigured channel', async () => {
    const got: string[] = [];
    const registry = new NotifierRegistry([
      {
        name: 'mail',
        schemes: ['mailto'],
        send: async (r: NotificationRequest) => (got.push(r.target), { delivered: true }),
      },
    ]);
    const acts = createGovernedOperationActivities({ audit, quotas, notifiers: registry });
    const req = (target: string): NotificationRequest => ({
      id: `op-x:approval_requested:${target}:initial`,
      kind: 'approval_requested',
      target,
      text: 'approve?',
      state: { operationId: 'op-x' } as OperationState,
    });
    await expect(env.run(acts.notify, req('cto@company.com'))).resolves.toEqual({ delivered: true });
    expect(got).toEqual(['cto@company.com']);
    await expect(env.run(acts.notify, req('slack://ops'))).rejects.toMatchObject({
      type: 'NoNotifier',
      nonRetryable: true,
      message: expect.stringContaining("no notifier for slack://ops (scheme 'slack'); configured: mailto"),
    });
    expect([
      targetScheme('mailto:a@b'),
      targetScheme('a@b'),
      targetScheme('slack:U1'),
      targetScheme('group:ops'),
    ]).toEqual(['mailto', 'mailto', 'slack', 'group']);
  });
});
