// `atom-gov metrics --format prometheus [--output FILE] [--url URL]`: the running gateway's metrics (GET /metrics)
// as a Prometheus text file, e.g. for node_exporter's textfile collector as in the seed:
//   atom-gov metrics --format prometheus > /var/lib/prometheus/mcp_metrics.prom
// With --output the file is replaced atomically (written beside it, then renamed), so the collector never reads
// half a file, and it is left untouched when the gateway cannot be reached.
import { rename, unlink, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AtomGovConfig } from '@atom-gov/config';
import { CliError } from '../run-cli.js';
import { EXIT } from './governance-cli.js';
import { loadRuntimeConfig } from './runtime-parts.js';

export interface MetricsOptions {
  config?: string;
  dataDir?: string;
  format?: string;
  output?: string;
  url?: string;
  timeoutMs?: number;
}

/** The gateway as seen from this host: a wildcard listen address is reached over loopback. */
export function gatewayUrlOf(config: AtomGovConfig): string {
  const { host, port } = config.gateway;
  const h = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** Fetches the exposition text; throws CliError naming the address and what to do. */
export async function fetchMetrics(baseUrl: string, timeoutMs = 5_000): Promise<string> {
  const url = `${baseUrl.replace(/\/+$/, '')}/metrics`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain' } });
  } catch (error) {
    const c = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (error as Error).message;
    throw new CliError(
      `cannot reach the gateway at ${url} (${cause}): start it with 'atom-gov start', or pass --url of a running gateway`,
      EXIT.unavailable,
    );
  }
  const body = await res.text();
  if (!res.ok)
    throw new CliError(`the gateway at ${url} answered HTTP ${res.status}: ${body.slice(0, 200)}`, EXIT.unavailable);
  if (!/^# (HELP|TYPE) atom_gov_/m.test(body))
    throw new CliError(`${url} did not answer with ATOM-GOV metrics: is --url an ATOM-GOV gateway?`, EXIT.unavailable);
  return body;
}

export async function metricsCommand(opts: MetricsOptions, stdout: (text: string) => void): Promise<void> {
  const format = opts.format ?? 'prometheus';
  if (format !== 'prometheus')
    throw new CliError(`--format '${format}' is not supported: use --format prometheus`, EXIT.usage);
  let base = opts.url;
  if (base === undefined) {
    const config = await loadRuntimeConfig({ config: opts.config, dataDir: opts.dataDir });
    base = gatewayUrlOf(config);
  } else if (!/^https?:\/\//.test(base)) {
    throw new CliError(`--url '${base}' is not an http(s) URL, e.g. --url http://127.0.0.1:8700`, EXIT.usage);
  }
  const text = await fetchMetrics(base, opts.timeoutMs);
  if (opts.output === undefined) {
    stdout(text);
    return;
  }
  // node_exporter reads only *.prom files: the temporary name must not end in .prom.
  const tmp = `${opts.output}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, opts.output);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw new CliError(`cannot write ${opts.output}: ${(error as Error).message}`, 1);
  }
}

export function register(program: Command): void {
  program
    .command('metrics')
    .description("print the running gateway's metrics in Prometheus text format (node_exporter textfile)")
    .option('--format <format>', 'prometheus', 'prometheus')
    .option('--output <file>', 'write to this file atomically instead of stdout')
    .option('--url <url>', 'gateway base URL (default: gateway.host/port of the configuration)')
    .option('--config <file>', 'configuration file')
    .option('--data-dir <dir>', 'data directory')
    .action(async (opts: MetricsOptions) => {
      await metricsCommand(opts, (t) => process.stdout.write(t));
    });
}
