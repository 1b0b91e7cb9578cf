import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { HEALTH_PROBE_WORKFLOW, type WorkerHealthReport } from '@atom-gov/contracts';
import { loadTestConfig, temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { startWorker, type RunningWorker } from './worker.js';

const temporal = temporalTestEnv();
let connection: Connection;
let dir: string;

beforeAll(async () => {
  connection = await Connection.connect({ address: temporal.address });
});
afterAll(async () => {
  await connection.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('startWorker', () => {
  it('polls the configured task queue and runs the health probe workflow and its activity', async () => {
    const taskQueue = uniqueTaskQueue('worker');
    const loaded = await loadTestConfig(
      `  temporal:\n    namespace: ${temporal.namespace}\n    task_queue: ${taskQueue}\n`,
    );
    dir = loaded.dir;
    let worker: RunningWorker | undefined;
    try {
      worker = await startWorker({ config: loaded.config, temporalAddress: temporal.address });
      expect(worker.taskQueue).toBe(taskQueue);
      const client = new Client({ connection, namespace: temporal.namespace });
      const report = await client.workflow.execute<() => Promise<WorkerHealthReport>>(HEALTH_PROBE_WORKFLOW, {
        taskQueue,
        workflowId: `probe-${taskQueue}`,
        workflowExecutionTimeout: '30s',
      });
      expect(report).toEqual({ identity: worker.identity, taskQueue, startedAt: expect.any(String) });
    } finally {
      await worker?.shutdown();
    }
    await expect(worker.done).resolves.toBeUndefined();
  });

  it('names the address it could not reach', async () => {
    const loaded = await loadTestConfig('');
    await rm(loaded.dir, { recursive: true, force: true });
    await expect(startWorker({ config: loaded.config, temporalAddress: '127.0.0.1:1' })).rejects.toThrow(
      /could not connect to Temporal at 127\.0\.0\.1:1/,
    );
  });
});
