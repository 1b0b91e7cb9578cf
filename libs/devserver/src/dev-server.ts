import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import {
  DEFAULT_NAMESPACE,
  SEARCH_ATTRIBUTES,
  devServerSearchAttributeArgs,
  type SearchAttributeDefinition,
} from '@atom-gov/contracts';
import { freePort } from './free-port.js';
import { watchParent } from './orphan-watchdog.js';
import { ensureSearchAttributes } from './search-attributes.js';

export interface DevServerOptions {
  /** Path of the Temporal CLI (see ensureTemporalCli). */
  temporalCli: string;
  /** SQLite file for the server's state; undefined keeps it in memory (tests). */
  dbFile?: string;
  /** Interface for the frontend and the UI. */
  host?: string;
  /** Frontend gRPC port; 0 or undefined picks a free one. */
  port?: number;
  /** Web UI port; 0 or undefined picks a free one. Ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  searchAttributes?: readonly SearchAttributeDefinition[];
  /** How long to wait for the frontend to answer; the first start on a new database is the slowest. */
  startTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL on stop. */
  stopGraceMs?: number;
  env?: Record<string, string | undefined>;
  /** Receives every output line of the server (it logs at warn level by default). */
  onLog?: (line: string) => void;
  /** `--dynamic-config-value KEY=VALUE` pairs; default FAST_DISPATCH_CONFIG (pass {} for the server's own). */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * One task-queue partition: with the default four, a task and the poll waiting for it can land on different
 * partitions and wait for forwarding, which is most of a governed call's latency on the dev server.
 */
export const FAST_DISPATCH_CONFIG: Readonly<Record<string, number>> = Object.freeze({
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
});

export interface DevServer {
  /** host:port of the frontend, for Connection / NativeConnection. */
  readonly address: string;
  readonly port: number;
  /** Web UI base URL, undefined when headless. */
  readonly uiUrl: string | undefined;
  readonly namespace: string;
  readonly pid: number;
  /** Resolves when the server process has exited (for whatever reason). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the server's process group, SIGKILL after the grace period; resolves once it is gone. */
  stop(): Promise<void>;
}

export class DevServerError extends Error {
  override readonly name = 'DevServerError';
}

const tailLines = 40;

/**
 * Starts `temporal server start-dev` in its own process group and resolves once the frontend answers a real
 * RPC for the namespace and every search attribute is registered. Rejects with the server's last output lines
 * when it exits early or does not answer in time.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  // Free ports are picked before the server binds them, so another process can take one in between (seen under
  // a parallel test run: "bind: address already in use"). Ports we picked are picked again; given ports are not.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (error) {
      const picked = !opts.port || (!opts.headless && !opts.uiPort);
      if (!(error instanceof DevServerError) || !/address already in use/.test(error.message) || !picked) throw error;
      if (attempt >= 3) throw error;
    }
  }
}

async function startOnce(opts: DevServerOptions): Promise<DevServer> {
  const host = opts.host ?? '127.0.0.1';
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const port = opts.port || (await freePort(host));
  const headless = opts.headless ?? false;
  const uiPort = headless ? undefined : opts.uiPort || (await freePort(host));
  const defs = opts.searchAttributes ?? SEARCH_ATTRIBUTES;
  const address = `${host}:${port}`;

  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--namespace', namespace];
  if (opts.dbFile) {
    await mkdir(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  args.push(...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]));
  args.push(...devServerSearchAttributeArgs(defs));
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? FAST_DISPATCH_CONFIG)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }

  // detached: its own process group, so stop() can signal everything it may spawn and Ctrl-C in a terminal
  // reaches only us (we then stop it in order).
  const child = spawn(opts.temporalCli, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: (opts.env ?? process.env) as NodeJS.ProcessEnv,
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > tailLines) output.shift();
      opts.onLog?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const spawnError = once(child, 'spawn').then(
    () => undefined,
    (error: Error) => error,
  );
  const failedToSpawn = await spawnError;
  if (failedToSpawn || child.pid === undefined) {
    throw new DevServerError(
      `could not run the Temporal CLI at ${opts.temporalCli}: ${failedToSpawn?.message ?? 'no pid'}`,
    );
  }
  const pid = child.pid;

  // If this process dies without calling stop() (uncaught error, process.exit), take the server with us.
  const killOnExit = () => killGroup(pid, 'SIGKILL');
  process.once('exit', killOnExit);
  // ...and if it is SIGKILLed (no 'exit' runs), a detached watcher does it.
  const watchdog = watchParent(`kill -KILL -${pid} 2>/dev/null`);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await terminate(child, pid, exited, opts.stopGraceMs ?? 5_000);
      process.removeListener('exit', killOnExit);
      watchdog.disarm();
    })();
    return stopping;
  };

  try {
    await waitUntilServing({
      address,
      namespace,
      exited,
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      describe: () => output.slice(-15).join('\n'),
      defs,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address,
    port,
    uiUrl: uiPort === undefined ? undefined : `http://${host}:${uiPort}`,
    namespace,
    pid,
    exited,
    stop,
  };
}

async function waitUntilServing(o: {
  address: string;
  namespace: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  timeoutMs: number;
  describe: () => string;
  defs: readonly SearchAttributeDefinition[];
}): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void o.exited.then((e) => (gone = e));
  let lastError: unknown;
  // The server gives no machine-readable "ready" event; a real RPC on the namespace is the proof. Retry
  // quickly while it boots (connection refused until the frontend listens).
  for (let attempt = 0; ; attempt++) {
    if (gone) {
      throw new DevServerError(
        `the Temporal dev server exited during start (code ${gone.code ?? 'none'}, signal ${gone.signal ?? 'none'}). Its last output:\n${o.describe()}`,
      );
    }
    if (Date.now() > deadline) {
      throw new DevServerError(
        `the Temporal dev server did not answer on ${o.address} within ${o.timeoutMs} ms (${
          (lastError as Error | undefined)?.message ?? 'no answer'
        }). Its last output:\n${o.describe()}`,
      );
    }
    let connection: Connection | undefined;
    try {
      // lazy + ensureConnected so that a failed attempt still has a channel to close (connect() leaks it).
      connection = Connection.lazy({ address: o.address, connectTimeout: 2_000 });
      await connection.ensureConnected();
      await connection.workflowService.describeNamespace({ namespace: o.namespace });
      await ensureSearchAttributes(connection, o.namespace, o.defs);
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await Promise.race([delay(Math.min(50 * 2 ** attempt, 500)), o.exited]);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone already
  }
}

async function terminate(child: ChildProcess, pid: number, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  // Anything the server started in its group that outlived it.
  killGroup(pid, 'SIGKILL');
}
