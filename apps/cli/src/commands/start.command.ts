// `atom-gov start [--config FILE] [--port N] [--data-dir DIR] [--temporal-port N] [--temporal-ui-port N]
//  [--headless]`: the embedded default. Without a configured Temporal address it runs the Temporal dev server
// (state in <data dir>/temporal.db), then the audit store, the worker and the gateway, all in this process.
import { join } from 'node:path';
import type { AuditStore } from '@atom-gov/audit';
import type { AtomGovConfig } from '@atom-gov/config';
import type { DevServer } from '@atom-gov/devserver';
import type { RunningGateway } from '@atom-gov/gateway';
import type { RunningWorker } from '@atom-gov/worker';
import type { Command } from 'commander';
import { openAuditForConfig } from '../audit-access.js';
import { CliError } from '../run-cli.js';
import {
  installTemporalRuntime,
  loadRuntimeConfig,
  log,
  parsePort,
  runUntilSignal,
  type RuntimeFlags,
  type Stoppable,
} from './runtime-parts.js';

export interface StartFlags extends RuntimeFlags {
  temporalPort?: string;
  temporalUiPort?: string;
  headless?: boolean;
}

export interface Started {
  config: AtomGovConfig;
  temporalAddress: string;
  devServer?: DevServer;
  audit: AuditStore;
  worker: RunningWorker;
  gateway: RunningGateway;
  /** Stop order: gateway (and its upstream MCP processes), worker, audit store, dev server. */
  parts: Stoppable[];
}

let stopping = false;

/** Starts every part; on a failure stops what already runs and throws a CliError naming the part. */
export async function startAll(flags: StartFlags): Promise<Started> {
  const config = await loadRuntimeConfig(flags);
  await installTemporalRuntime();
  // One after another: Jest's ESM loader fails parallel dynamic imports that share modules (jestjs/jest#11434),
  // and these all import @atom-gov/audit; in a plain Node process the order costs nothing.
  const { ensureTemporalCli, startDevServer } = await import('@atom-gov/devserver');
  const { auditChainOptions } = await import('@atom-gov/audit');
  const { startWorker } = await import('@atom-gov/worker');
  const { startGateway } = await import('@atom-gov/gateway');
  const { createNotifiers } = await import('@atom-gov/notify');
  const started: Stoppable[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      for (const part of [...started].reverse()) await part.stop().catch(() => undefined);
      throw new CliError(`could not start the ${name}: ${(error as Error).message}`);
    }
  };

  let devServer: DevServer | undefined;
  let temporalAddress = config.temporal.address;
  if (temporalAddress === undefined) {
    const ds = config.temporal.devServer;
    const t0 = Date.now();
    devServer = await step('Temporal dev server', async () => {
      const temporalCli = await ensureTemporalCli({ env: process.env, onMessage: (line) => log(line) });
      return startDevServer({
        temporalCli,
        dbFile: join(config.dataDir, 'temporal.db'),
        port: parsePort(flags.temporalPort, '--temporal-port') ?? ds.port,
        uiPort: parsePort(flags.temporalUiPort, '--temporal-ui-port') ?? ds.uiPort,
        headless: flags.headless ?? ds.headless,
        namespace: config.temporal.namespace,
        // Part of the 10 s stop budget: the server usually exits in 1-2 s; SIGKILL (its state is SQLite) after 3.
        stopGraceMs: 3_000,
        // While shutting down the server logs connection errors of its own internal clients: noise.
        onLog: (line) => void (stopping || process.stderr.write(`[temporal] ${line}\n`)),
      });
    });
    log(`Temporal dev server ready on ${devServer.address} in ${Date.now() - t0} ms`);
    started.push({ name: 'Temporal dev server', stop: () => devServer!.stop() });
    temporalAddress = devServer.address;
  }
  const address = temporalAddress;
  const audit = await step('audit store', () =>
    openAuditForConfig(config, {
      spool: true,
      onWarning: log,
      onStateChange: (degraded, detail) => log(`audit store ${degraded ? 'degraded' : 'recovered'}: ${detail}`),
      storeOptions: auditChainOptions(config.audit),
    }),
  );
  started.push({ name: 'audit store', stop: () => audit.close() });
  const worker = await step('worker', () =>
    startWorker({
      config,
      temporalAddress: address,
      bundleCacheDir: join(config.dataDir, 'cache'),
      // Approval requests by email (SMTP, or .eml files in <data dir>/outbox with the link logged) and Slack.
      notifiers: createNotifiers(config, { log }).notifiers,
    }),
  );
  started.push({ name: 'worker', stop: () => worker.shutdown() });
  const gateway = await step('gateway', () => startGateway({ config, temporalAddress: address, audit }));
  started.push({ name: 'gateway', stop: () => gateway.close() });
  return { config, temporalAddress: address, devServer, audit, worker, gateway, parts: started.reverse() };
}

export function describeStarted(s: Started): string {
  const width = Math.max(12, ...s.config.servers.map((srv) => srv.name.length + 2));
  const lines = [`ATOM-GOV is running (config ${s.config.configPath})`, '', 'MCP endpoints (Streamable HTTP):'];
  for (const server of s.config.servers)
    lines.push(`  ${server.name.padEnd(width)}${s.gateway.url}/mcp/${server.name}`);
  if (s.config.servers.length === 0) lines.push('  (no servers configured)');
  lines.push('', `Health:      ${s.gateway.url}/healthz`);
  if (s.devServer) {
    lines.push(
      `Temporal:    ${s.devServer.address} (embedded dev server, state in ${join(s.config.dataDir, 'temporal.db')})`,
    );
    if (s.devServer.uiUrl)
      lines.push(`Temporal UI: ${s.devServer.uiUrl}/namespaces/${s.config.temporal.namespace}/workflows`);
  } else {
    lines.push(`Temporal:    ${s.temporalAddress} (namespace ${s.config.temporal.namespace})`);
  }
  lines.push(`Audit store: ${s.audit.driver}`, '', 'Press Ctrl-C to stop.');
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('Run ATOM-GOV: Temporal dev server (unless temporal.address is set), worker and gateway')
    .option('--config <file>', 'configuration file (default: $ATOM_GOV_CONFIG or the seed path)')
    .option('--port <n>', 'gateway port (default: gateway.port, 8700)')
    .option('--data-dir <dir>', 'data directory (default: $ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .option('--temporal-port <n>', 'embedded Temporal frontend port (default: temporal.dev_server.port, 7233)')
    .option('--temporal-ui-port <n>', 'embedded Temporal UI port (default: temporal.dev_server.ui_port, 8233)')
    .option('--headless', 'do not serve the Temporal UI')
    .action(async (flags: StartFlags) => {
      const t0 = Date.now();
      const started = await startAll(flags);
      process.stdout.write(describeStarted(started));
      log(`started in ${Date.now() - t0} ms`);
      const failed = new Promise<string>((resolve) => {
        void started.worker.done.catch((error: Error) => resolve(`the worker failed: ${error.message}`));
        void started.devServer?.exited.then((e) =>
          resolve(`the Temporal dev server exited (code ${e.code}, signal ${e.signal})`),
        );
      });
      process.exitCode = await runUntilSignal({
        parts: () => {
          stopping = true;
          return started.parts;
        },
        failed,
        forceKill: () => {
          if (started.devServer) {
            try {
              process.kill(-started.devServer.pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        },
      });
      // Everything is stopped; do not wait for idle handles (SDK runtime threads, keep-alive sockets).
      process.exit();
    });
}
