import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Client, Connection, type ScheduleDescription } from '@temporalio/client';
import { auditChainOptions, type AuditEventInput, openAuditStore, retentionCutoff } from '@atom-gov/audit';
import { type AuditRetentionResult, auditRetentionScheduleId } from '@atom-gov/contracts';
import { loadTestConfig, temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { startWorker, type RunningWorker } from './worker.js';

const temporal = temporalTestEnv();
const DAY = 24 * 3600_000;
let connection: Connection;
let client: Client;
const dirs: string[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection, namespace: temporal.namespace });
});
afterAll(async () => {
  await connection.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function event(tenant: string, time: Date): AuditEventInput {
  return {
    id: randomUUID(),
    time,
    tenant,
    user: 'alice',
    server: 'cloudflare_mcp',
    method: 'tools/call',
    decision: 'allow',
    configVersion: 'v1',
    outcome: 'ok',
    durationMs: 1,
    requestBytes: 1,
    responseBytes: 1,
  };
}

/** The schedule's first action, once the server has recorded it (it starts the workflow asynchronously). */
async function firstAction(describe: () => Promise<ScheduleDescription>) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const action = (await describe()).info.recentActions[0];
    if (action) return action.action;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the triggered schedule did not start its workflow within 10 s');
}

describe('audit retention schedule', () => {
  it('is created at worker start, purges expired events when triggered, and what remains verifies', async () => {
    const taskQueue = uniqueTaskQueue('retention');
    const yaml = (days: number) =>
      `  temporal:\n    namespace: ${temporal.namespace}\n    task_queue: ${taskQueue}\n` +
      `  audit:\n    retention_days: ${days}\n    time_zone: Europe/Paris\n`;
    const loaded = await loadTestConfig(yaml(30));
    dirs.push(loaded.dir);
    const { config } = loaded;
    const db = { sqlitePath: config.database.sqlitePath, ...auditChainOptions(config.audit) };

    const now = Date.now();
    const store = await openAuditStore(db);
    const old = [
      ...[45, 44, 40].map((d) => event('acme', new Date(now - d * DAY))),
      ...[50, 41].map((d) => event('globex', new Date(now - d * DAY))),
    ];
    const recent = [
      event('acme', new Date(now - 3 * DAY)),
      event('acme', new Date(now)),
      event('globex', new Date(now)),
    ];
    for (const e of [...old, ...recent]) await store.append(e);
    await store.close();

    const scheduleId = auditRetentionScheduleId(taskQueue);
    const schedule = client.schedule.getHandle(scheduleId);
    let worker: RunningWorker | undefined;
    try {
      worker = await startWorker({ config, temporalAddress: temporal.address });
      const description = await schedule.describe();
      expect(description.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }] });
      expect(description.spec.timezone).toBe('Europe/Paris');
      expect(description.action).toMatchObject({
        workflowType: 'auditRetention',
        taskQueue,
        args: [{ retentionDays: 30, timeZone: 'Europe/Paris' }],
      });

      await schedule.trigger();
      const action = await firstAction(() => schedule.describe());
      const run = client.workflow.getHandle<() => Promise<AuditRetentionResult>>(
        action.workflow.workflowId,
        action.workflow.firstExecutionRunId,
      );
      const result = await run.result();
      const startTime = (await run.describe()).startTime;
      expect(result.cutoff).toBe(retentionCutoff(startTime, 30, 'Europe/Paris').toISOString());
      expect(result.tenants).toEqual([
        { tenant: 'acme', deleted: 3, startSeq: 4 },
        { tenant: 'globex', deleted: 2, startSeq: 3 },
      ]);
    } finally {
      await worker?.shutdown();
    }

    const reopened = await openAuditStore(db);
    try {
      const remaining = await reopened.query({ order: 'asc' });
      expect(remaining.map((e) => e.id).sort()).toEqual(recent.map((e) => e.id).sort());
      const report = await reopened.verify();
      expect(report.ok).toBe(true);
      expect(report.tenants.map((t) => [t.tenant, t.startSeq, t.lastSeq])).toEqual([
        ['acme', 4, 5],
        ['globex', 3, 3],
      ]);
    } finally {
      await reopened.close();
    }

    // A second start with another retention period updates the same schedule instead of failing or duplicating.
    const changed = await loadTestConfig(yaml(90));
    dirs.push(changed.dir);
    const again = await startWorker({ config: changed.config, temporalAddress: temporal.address });
    try {
      expect((await schedule.describe()).action).toMatchObject({
        args: [{ retentionDays: 90, timeZone: 'Europe/Paris' }],
      });
    } finally {
      await again.shutdown();
      await schedule.delete();
    }
  });
});
