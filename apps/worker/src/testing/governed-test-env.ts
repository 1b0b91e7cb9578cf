// Shared by the worker's governed-operation specs: the real dev server of the Jest global setup, real SQLite audit
// and quota stores in a temporary directory, the workflow bundle built from sources, a worker that can be stopped
// and started again (worker-down cases), and a GovernanceClient. Not exported from the package: tests only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { openAuditStore, openQuotaStore, type AuditStore, type QuotaStore } from '@atom-gov/audit';
import { type NotificationRequest, type NotificationResult, type Notifier } from '@atom-gov/contracts';
import { GovernanceClient } from '@atom-gov/governance-client';
import { temporalTestEnv, uniqueTaskQueue, type TemporalTestEnv } from '@atom-gov/testing';
import { createActivities } from '../create-activities.js';
import { NotifierRegistry } from '../notifier-registry.js';
import { workflowsSource } from '../workflows-source.js';

/** A real notifier that keeps what it was asked to send (as a channel's outbox would) and can be told to fail. */
export class RecordingNotifier implements Notifier {
  readonly name = 'recording';
  readonly schemes = ['mailto', 'slack'];
  readonly sent: NotificationRequest[] = [];
  failTargets = new Set<string>();
  private waiters: Array<{ match: (r: NotificationRequest) => boolean; resolve: () => void }> = [];

  async send(request: NotificationRequest): Promise<NotificationResult> {
    if (this.failTargets.has(request.target)) throw new Error(`channel for ${request.target} is down`);
    this.sent.push(request);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(request)) return true;
      w.resolve();
      return false;
    });
    return { delivered: true, ref: request.id };
  }

  waitFor(match: (r: NotificationRequest) => boolean): Promise<void> {
    if (this.sent.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  count(operationId: string, kind: NotificationRequest['kind'], target: string): number {
    return this.sent.filter((r) => r.state.operationId === operationId && r.kind === kind && r.target === target)
      .length;
  }
}

const noop = (): void => undefined;
export const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** Call `start()` in beforeAll (bundling takes a while: give it ~120 s) and `close()` in afterAll. */
export class GovernedTestEnv {
  readonly temporal: TemporalTestEnv = temporalTestEnv();
  readonly taskQueue: string;
  readonly notifier = new RecordingNotifier();
  private dir: string | undefined;
  private stores: { audit: AuditStore; quotas: QuotaStore } | undefined;
  private built: { bundle: WorkflowBundleWithSourceMap; connection: Connection; client: Client } | undefined;
  private running: { worker: Worker; done: Promise<void>; nc: NativeConnection } | undefined;
  private governance: GovernanceClient | undefined;

  constructor(taskQueuePrefix: string) {
    this.taskQueue = uniqueTaskQueue(taskQueuePrefix);
  }

  get auditStore(): AuditStore {
    return this.need(this.stores).audit;
  }
  get quotaStore(): QuotaStore {
    return this.need(this.stores).quotas;
  }
  get bundle(): WorkflowBundleWithSourceMap {
    return this.need(this.built).bundle;
  }
  get client(): Client {
    return this.need(this.built).client;
  }
  get gc(): GovernanceClient {
    return this.need(this.governance);
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), `atom-gov-${this.taskQueue.split('-')[0]}-`));
    const sqlitePath = join(this.dir, 'audit.sqlite');
    this.stores = { audit: await openAuditStore({ sqlitePath }), quotas: await openQuotaStore({ sqlitePath }) };
    const source = workflowsSource();
    const bundle = await bundleWorkflowCode({
      workflowsPath: source.workflowsPath,
      webpackConfigHook: source.webpackConfigHook,
      preloadModules: source.preloadModules,
      logger: quietLogger,
    });
    const connection = await Connection.connect({ address: this.temporal.address });
    const client = new Client({ connection, namespace: this.temporal.namespace });
    this.built = { bundle, connection, client };
    this.governance = new GovernanceClient({ client, taskQueue: this.taskQueue });
    await this.startWorker();
  }

  /** A worker on the task queue with the real activities over this environment's stores and notifier. */
  async startWorker(): Promise<void> {
    const nc = await NativeConnection.connect({ address: this.temporal.address });
    const worker = await Worker.create({
      connection: nc,
      namespace: this.temporal.namespace,
      taskQueue: this.taskQueue,
      workflowBundle: this.bundle,
      activities: createActivities({
        identity: 'test',
        taskQueue: this.taskQueue,
        startedAt: new Date(),
        governance: {
          audit: this.auditStore,
          quotas: this.quotaStore,
          notifiers: new NotifierRegistry([this.notifier]),
        },
      }),
      shutdownGraceTime: '2s',
    });
    this.running = { worker, nc, done: worker.run() };
  }

  async stopWorker(): Promise<void> {
    if (!this.running) return;
    const { worker, done, nc } = this.running;
    this.running = undefined;
    worker.shutdown();
    await done;
    await nc.close();
  }

  async close(): Promise<void> {
    await this.stopWorker();
    await this.built?.connection.close();
    await this.stores?.quotas.close();
    await this.stores?.audit.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private need<T>(value: T | undefined): T {
    if (value === undefined) throw new Error('GovernedTestEnv: call start() in beforeAll first');
    return value;
  }
}
