import { hostname } from 'node:os';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { auditChainOptions, openConfiguredAuditStore, openQuotaStore } from '@atom-gov/audit';
import { type AtomGovConfig, readEnv } from '@atom-gov/config';
import { SEARCH_ATTRIBUTES, type Notifier } from '@atom-gov/contracts';
import { ensureSearchAttributes } from '@atom-gov/devserver';
import { createActivities } from './create-activities.js';
import { type GovernedOperationDeps } from './governed-operation.activities.js';
import { NotifierRegistry } from './notifier-registry.js';
import { cachedWorkflowBundle } from './workflow-bundle-cache.js';
import { ensureRetentionSchedule } from './retention-schedule.js';
import { type RetentionDeps } from './retention.activities.js';
import { workflowsSource } from './workflows-source.js';

export interface StartWorkerOptions {
  config: AtomGovConfig;
  temporalAddress: string;
  /** Defaults to `atom-gov-worker-<pid>@<host>`. */
  identity?: string;
  /** Register missing search attributes (dev server, clusters where we are admin) instead of failing. */
  registerSearchAttributes?: boolean;
  /** Reuse the workflow bundle across starts (from dist/ only; sources are always bundled afresh). */
  bundleCacheDir?: string;
  /** Stores and notifiers of governed operations; default: the config's database (audit + quota) and `notifiers`. */
  governance?: GovernedOperationDeps;
  /** The audit store the daily retention purge works on; default: the worker's own audit store. */
  retention?: RetentionDeps;
  /** Create/update the daily audit retention schedule at start (default true). */
  retentionSchedule?: boolean;
  /** Channels for approval requests and alerts (Slack, email, ...), when `governance` is not given. */
  notifiers?: readonly Notifier[];
}

export interface RunningWorker {
  readonly identity: string;
  readonly taskQueue: string;
  /** Rejects if the worker stops on its own (fatal error); resolves after shutdown(). */
  readonly done: Promise<void>;
  /** Stops polling, lets running tasks finish (bounded grace time), closes the connection. Idempotent. */
  shutdown(): Promise<void>;
}

/** Connects to Temporal and runs the ATOM-GOV worker on the config's namespace and task queue. */
export async function startWorker(opts: StartWorkerOptions): Promise<RunningWorker> {
  const { namespace, taskQueue } = opts.config.temporal;
  const identity = opts.identity ?? `atom-gov-worker-${process.pid}@${hostname()}`;
  const connection = await NativeConnection.connect({ address: opts.temporalAddress }).catch((error: Error) => {
    throw new Error(`could not connect to Temporal at ${opts.temporalAddress}: ${error.message}`, { cause: error });
  });
  let worker: Worker;
  const closers: Array<() => Promise<void>> = [];
  try {
    let governance = opts.governance;
    let retention = opts.retention;
    if (!governance) {
      const db = {
        ...(opts.config.database.url ? { databaseUrl: opts.config.database.url } : {}),
        sqlitePath: opts.config.database.sqlitePath,
      };
      // Governed-operation records are redacted and sealed like the gateway's (same master key and tenant keys).
      const masterKey = readEnv('ATOM_GOV_MASTER_KEY');
      const masterKeyFile = readEnv('ATOM_GOV_MASTER_KEY_FILE');
      const audit = await openConfiguredAuditStore({
        ...db,
        dataDir: opts.config.dataDir,
        encrypt: opts.config.global.encryption || opts.config.audit.encrypt,
        piiRedaction: opts.config.audit.piiRedaction,
        ...(masterKey !== undefined ? { masterKey } : {}),
        ...(masterKeyFile !== undefined ? { masterKeyFile } : {}),
        storeOptions: auditChainOptions(opts.config.audit),
      });
      closers.push(() => audit.close());
      const quotas = await openQuotaStore(db);
      closers.push(() => quotas.close());
      governance = { audit, quotas, notifiers: new NotifierRegistry(opts.notifiers ?? []) };
      retention ??= { audit };
    }
    // Fail at start rather than on the first governed call: an unregistered search attribute makes the
    // workflow task fail forever.
    await ensureSearchAttributes(connection, namespace, SEARCH_ATTRIBUTES, {
      register: opts.registerSearchAttributes ?? true,
    });
    if (opts.retentionSchedule ?? true) {
      // Idempotent: every worker start creates the daily schedule or updates it to the current config.
      await ensureRetentionSchedule(new Client({ connection, namespace }), {
        taskQueue,
        retentionDays: opts.config.audit.retentionDays,
        timeZone: opts.config.audit.timeZone,
      }).catch((error: Error) => {
        throw new Error(`could not create the audit retention schedule: ${error.message}`, { cause: error });
      });
    }
    const source = workflowsSource();
    worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      identity,
      ...(opts.bundleCacheDir && !source.fromSources
        ? { workflowBundle: await cachedWorkflowBundle(source, opts.bundleCacheDir) }
        : {
            workflowsPath: source.workflowsPath,
            bundlerOptions: { webpackConfigHook: source.webpackConfigHook, preloadModules: source.preloadModules },
          }),
      activities: createActivities({
        identity,
        taskQueue,
        startedAt: new Date(),
        governance,
        ...(retention ? { retention } : {}),
      }),
      // `atom-gov start` must stop within 10 s: in-flight activities get this long, then are cancelled.
      shutdownGraceTime: '3s',
      shutdownForceTime: '6s',
    });
  } catch (error) {
    await connection.close();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
  const done = worker.run().finally(async () => {
    await connection.close();
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });
  let stopping: Promise<void> | undefined;
  return {
    identity,
    taskQueue,
    done,
    shutdown() {
      stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done.catch(() => undefined);
      })();
      return stopping;
    },
  };
}
