import { hostname } from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import { type AtomGovConfig } from '@atom-gov/config';
import { SEARCH_ATTRIBUTES } from '@atom-gov/contracts';
import { ensureSearchAttributes } from '@atom-gov/devserver';
import { createActivities } from './create-activities.js';
import { cachedWorkflowBundle } from './workflow-bundle-cache.js';
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
  try {
    // Fail at start rather than on the first governed call: an unregistered search attribute makes the
    // workflow task fail forever.
    await ensureSearchAttributes(connection, namespace, SEARCH_ATTRIBUTES, {
      register: opts.registerSearchAttributes ?? true,
    });
    const source = workflowsSource();
    worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      identity,
      ...(opts.bundleCacheDir && !source.fromSources
        ? { workflowBundle: await cachedWorkflowBundle(source, opts.bundleCacheDir) }
        : { workflowsPath: source.workflowsPath, bundlerOptions: { webpackConfigHook: source.webpackConfigHook } }),
      activities: createActivities({ identity, taskQueue, startedAt: new Date() }),
      // `atom-gov start` must stop within 10 s: in-flight activities get this long, then are cancelled.
      shutdownGraceTime: '3s',
      shutdownForceTime: '6s',
    });
  } catch (error) {
    await connection.close();
    throw error;
  }
  const done = worker.run().finally(() => connection.close());
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
