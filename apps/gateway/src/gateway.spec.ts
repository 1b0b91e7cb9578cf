import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openAuditStore, type AuditStore } from '@atom-gov/audit';
import { type AtomGovConfig } from '@atom-gov/config';
import { loadTestConfig, temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { startWorker, type RunningWorker } from '@atom-gov/worker';
import { startGateway, type RunningGateway } from './gateway.js';
import { type HealthReport } from './health/health.service.js';

const temporal = temporalTestEnv();
let dir: string;
let config: AtomGovConfig;
let audit: AuditStore;
let worker: RunningWorker;
let gateway: RunningGateway;

beforeAll(async () => {
  const taskQueue = uniqueTaskQueue('gateway');
  ({ config, dir } = await loadTestConfig(
    `  temporal:\n    namespace: ${temporal.namespace}\n    task_queue: ${taskQueue}\n`,
  ));
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  worker = await startWorker({ config, temporalAddress: temporal.address });
  gateway = await startGateway({ config, temporalAddress: temporal.address, audit, port: 0, logger: false });
});

afterAll(async () => {
  await gateway?.close();
  await worker?.shutdown();
  await audit?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function healthz(): Promise<{ status: number; body: HealthReport }> {
  const res = await fetch(`${gateway.url}/healthz`);
  return { status: res.status, body: (await res.json()) as HealthReport };
}

describe('GET /healthz', () => {
  it('answers 200 with every part up, the worker having run the probe', async () => {
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await healthz();
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.down).toEqual([]);
    expect(body.parts.worker.detail).toContain(worker.identity);
    expect(body.parts.audit.ok).toBe(true);
    expect(body.parts.temporal.detail).toContain(temporal.address);
  });

  it('answers 503 naming the worker once it has stopped', async () => {
    await worker.shutdown();
    const { status, body } = await healthz();
    expect(status).toBe(503);
    expect(body.down).toEqual(['worker']);
    expect(body.parts.worker.detail).toMatch(/health probe|no worker polls/);
  });

  it('answers 503 naming the audit store when it does not answer', async () => {
    await audit.close();
    const { status, body } = await healthz();
    expect(status).toBe(503);
    expect(body.down).toContain('audit');
    expect(body.parts.temporal.ok).toBe(true);
  });
});
