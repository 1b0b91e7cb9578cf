// `atom-gov proxy --server NAME [--config FILE]`: an MCP server on stdin/stdout for stdio assistants (Claude
// Desktop), bridged to the running gateway's /mcp/NAME; starts the gateway in the background when none answers.
// `atom-gov proxy --all` bridges to the aggregate endpoint /mcp instead (every server the caller may use).
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, formatIssues, loadConfig, readEnv, resolveRuntime, type AtomGovConfig } from '@atom-gov/config';
import { runStdioBridge, type McpLogger } from '@atom-gov/mcp';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';

export interface ProxyOptions {
  /** One configured server; absent with `all`. */
  server?: string;
  /** Bridge to the aggregate endpoint /mcp (needs `gateway.aggregate: true`). */
  all?: boolean;
  config?: string;
  env?: Record<string, string | undefined>;
  /** How long to wait for a gateway started in the background (the first start may boot Temporal). */
  startTimeoutMs?: number;
}

// stdout carries the protocol: every diagnostic goes to stderr, which assistants keep as the server log.
const stderrLogger: McpLogger = {
  info: (m) => process.stderr.write(`atom-gov proxy: ${m}\n`),
  warn: (m) => process.stderr.write(`atom-gov proxy: ${m}\n`),
  error: (m) => process.stderr.write(`atom-gov proxy: ${m}\n`),
};

const cliBin = fileURLToPath(new URL('../../bin/atom-gov.js', import.meta.url));

export function gatewayBaseUrl(config: AtomGovConfig): string {
  const host = config.gateway.host === '0.0.0.0' || config.gateway.host === '::' ? '127.0.0.1' : config.gateway.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.gateway.port}`;
}

async function healthy(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts `atom-gov start` detached with the same config and waits until /healthz answers. */
export async function ensureGateway(
  config: AtomGovConfig,
  opts: { startTimeoutMs?: number; log?: McpLogger } = {},
): Promise<string> {
  const base = gatewayBaseUrl(config);
  if (await healthy(base)) return base;
  mkdirSync(config.dataDir, { recursive: true });
  const logPath = join(config.dataDir, 'gateway.log');
  const log = openSync(logPath, 'a');
  opts.log?.info(`no gateway at ${base}; starting one in the background (log: ${logPath})`);
  const child = spawn(process.execPath, [cliBin, 'start', '--config', config.configPath], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  // Another proxy may have won the race to bind the port: keep waiting for /healthz even if ours exits.
  const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
  let delay = 100;
  while (Date.now() < deadline) {
    if (await healthy(base)) return base;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
  throw new CliError(
    `the gateway did not come up at ${base}${exited !== undefined ? ` (it exited with code ${exited})` : ''}; see ${logPath}`,
    1,
  );
}

export async function proxy(opts: ProxyOptions): Promise<void> {
  const runtime = resolveRuntime({
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  let config: AtomGovConfig;
  try {
    config = await loadConfig({ configPath: runtime.configPath, env: runtime.env });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`invalid configuration:\n${formatIssues(error.issues)}`, 1);
    throw error;
  }
  const names = config.servers.map((s) => s.name).join(', ') || '(none)';
  if ((opts.server === undefined) === (opts.all !== true)) {
    throw new CliError(
      `give either --server NAME (one of: ${names}) or --all (the aggregate endpoint of every server), not ${opts.all === true ? 'both' : 'neither'}`,
      2,
    );
  }
  if (opts.all === true && !config.gateway.aggregate) {
    throw new CliError(
      `--all needs the aggregate endpoint, which is off in ${config.configPath}; set atom_gov.gateway.aggregate: true there (or use --server NAME)`,
      2,
    );
  }
  if (opts.server !== undefined && !config.servers.some((s) => s.name === opts.server)) {
    throw new CliError(`unknown server '${opts.server}' in ${config.configPath}; configured servers: ${names}`, 2);
  }
  const base = await ensureGateway(config, { startTimeoutMs: opts.startTimeoutMs, log: stderrLogger });
  // The bridge's identity: an API key from the environment, else the gateway's anonymous identity.
  const apiKey = readEnv('ATOM_GOV_API_KEY', runtime.env);
  await runStdioBridge({
    url: opts.server !== undefined ? `${base}/mcp/${encodeURIComponent(opts.server)}` : `${base}/mcp`,
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    logger: stderrLogger,
  });
}

/** The seed's CI form `proxy --server S -- mcp-tool workers deploy --env production`: one governed call. */
async function callOnce(opts: { server: string; config?: string }, words: string[]): Promise<number> {
  const config = await loadConfig({ ...(opts.config !== undefined ? { configPath: opts.config } : {}) }).catch(
    (error: unknown) => {
      if (error instanceof ConfigError) throw new CliError(`invalid configuration:\n${formatIssues(error.issues)}`, 2);
      throw error;
    },
  );
  const url = await ensureGateway(config, { log: stderrLogger });
  // Imported here: call.command imports this module (gatewayBaseUrl).
  const { callToolWords } = await import('./call.command.js');
  return callToolWords({ url, server: opts.server, words });
}

export function register(program: Command): void {
  program
    .command('proxy')
    .description(
      'Serve one governed MCP server (or, with --all, every server) on stdin/stdout (Claude Desktop); sends ATOM_GOV_API_KEY as the API key when set',
    )
    .option('--server <name>', 'the server name from the configuration')
    .option('--all', 'serve the aggregate endpoint /mcp: every server the caller may use, names prefixed <server>__')
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .argument('[command...]', 'after --: mcp-tool <tool words> [--name value ...] calls that tool once and exits (CI)')
    .action(async (command: string[], opts: { server?: string; all?: boolean; config?: string }) => {
      if (command.length > 0) {
        if (opts.server === undefined) throw new CliError('a one-off call (after --) needs --server NAME', 2);
        process.exitCode = await callOnce({ ...opts, server: opts.server }, command);
        return;
      }
      await proxy(opts);
    });
}
