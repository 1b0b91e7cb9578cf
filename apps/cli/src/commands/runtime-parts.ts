// Shared by `atom-gov start`, `atom-gov gateway` and `atom-gov worker`: config loading with user-facing errors,
// quiet Temporal SDK logging, and a stop-on-signal loop with a hard deadline. Heavy packages (Temporal worker,
// NestJS, TypeORM) are imported inside the actions so that other commands do not load them.
import { ConfigError, formatIssues, loadConfig, type AtomGovConfig } from '@atom-gov/config';
import { CliError } from '../run-cli.js';

export interface RuntimeFlags {
  config?: string;
  port?: string;
  dataDir?: string;
}

export function parsePort(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliError(`${flag} '${value}' is not a port (1-65535)`, 2);
  return n;
}

export async function loadRuntimeConfig(flags: RuntimeFlags): Promise<AtomGovConfig> {
  try {
    return await loadConfig({
      configPath: flags.config,
      port: parsePort(flags.port, '--port'),
      dataDir: flags.dataDir,
    });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`the configuration is invalid:\n${formatIssues(error.issues)}`, 2);
    throw error;
  }
}

let runtimeInstalled = false;
/** The SDK logs every worker state change and the webpack report at INFO; an operator needs warnings. */
export async function installTemporalRuntime(): Promise<void> {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const { Runtime, DefaultLogger } = await import('@temporalio/worker');
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export function log(message: string): void {
  process.stderr.write(`atom-gov: ${message}\n`);
}

export interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

/**
 * Runs until SIGINT/SIGTERM (or `failed` settles), then stops `parts` in order (last started first) within
 * `deadlineMs`; `forceKill` runs if that deadline passes or a second signal arrives.
 */
export async function runUntilSignal(opts: {
  parts: () => Stoppable[];
  failed?: Promise<string>;
  deadlineMs?: number;
  forceKill?: () => void;
}): Promise<number> {
  const reason = await new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void opts.failed?.then(resolve);
  });
  const failure = reason !== 'SIGINT' && reason !== 'SIGTERM';
  log(failure ? `stopping: ${reason}` : `${reason} received, stopping`);
  const force = () => {
    log('could not stop in time; killing what is left');
    opts.forceKill?.();
    process.exit(1);
  };
  const timer = setTimeout(force, opts.deadlineMs ?? 9_000);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  let exitCode = failure ? 1 : 0;
  for (const part of opts.parts()) {
    const t0 = Date.now();
    try {
      await part.stop();
      log(`${part.name} stopped in ${Date.now() - t0} ms`);
    } catch (error) {
      exitCode = 1;
      log(`${part.name} did not stop cleanly: ${(error as Error).message}`);
    }
  }
  clearTimeout(timer);
  return exitCode;
}
