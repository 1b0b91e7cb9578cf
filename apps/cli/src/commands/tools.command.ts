// `atom-gov tools pin --server S` records a server's current definitions in the pin lock file (connecting to it
// directly, so pinning works before the gateway runs); `tools approve --server S --tool T` accepts a pending
// change after showing what changed; `tools status [--server S]` lists pinned and pending items.
import { userInfo } from 'node:os';
import { type AtomGovConfig, ConfigError, formatIssues, loadConfig, type ServerConfig } from '@atom-gov/config';
import { silentLogger, UpstreamHub, type HubSession, type McpResult } from '@atom-gov/mcp';
import {
  approveChange,
  type DefinitionSnapshot,
  describeChange,
  PIN_KINDS,
  PinningError,
  type PinKind,
  pinServer,
  pinStatus,
} from '@atom-gov/pinning';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';

export interface ToolsOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

interface CommonOptions {
  config?: string;
  dataDir?: string;
  /** Lock file path; default: the config's `pinning.lock_file` (<dataDir>/tools.lock.json). */
  lock?: string;
}
export interface PinOptions extends CommonOptions {
  server?: string;
  approver?: string;
  update?: boolean;
}
export interface ApproveOptions extends CommonOptions {
  server?: string;
  tool?: string;
  kind?: string;
  approver?: string;
}
export interface StatusOptions extends CommonOptions {
  server?: string;
  format?: string;
}

async function config(opts: CommonOptions, env?: Record<string, string | undefined>): Promise<AtomGovConfig> {
  try {
    return await loadConfig({
      ...(opts.config !== undefined ? { configPath: opts.config } : {}),
      ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      ...(env ? { env } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`the configuration is not valid:\n${formatIssues(error.issues)}`);
    throw error;
  }
}

async function lockPathOf(opts: CommonOptions, env?: Record<string, string | undefined>): Promise<string> {
  return opts.lock ?? (await config(opts, env)).pinning.lockFile;
}

function required(value: string | undefined, flag: string, example: string): string {
  if (value === undefined || value.trim() === '') throw new CliError(`${flag} is required (e.g. ${example})`, 2);
  return value;
}

const defaultApprover = () => userInfo().username;

/** Domain errors of the pinning lib become one-line CLI errors. */
async function pinningErrors<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof PinningError) throw new CliError(error.message);
    throw error;
  }
}

const LISTS = [
  { kind: 'tools', method: 'tools/list', key: 'tools', capability: 'tools' },
  { kind: 'prompts', method: 'prompts/list', key: 'prompts', capability: 'prompts' },
  { kind: 'resources', method: 'resources/list', key: 'resources', capability: 'resources' },
  { kind: 'resourceTemplates', method: 'resources/templates/list', key: 'resourceTemplates', capability: 'resources' },
] as const;

/**
 * Connects to the configured upstream through libs/mcp and lists every page of every kind it supports. Items are
 * taken raw (as the gateway forwards them), so their hashes match what the gateway sees.
 */
export async function snapshotServer(server: ServerConfig): Promise<DefinitionSnapshot> {
  if (server.launch) {
    throw new CliError(
      `server '${server.name}' is launched by the gateway (launch:): start it with 'atom-gov start' and let the first listing pin it, or pin a stdio/url server`,
    );
  }
  const hub = await UpstreamHub.open({
    server,
    clientInfo: { name: 'atom-gov-tools-pin', version: '0.1.0' },
    capabilities: {},
    logger: silentLogger,
    connectTimeoutMs: 30_000,
  }).catch((error: unknown) => {
    throw new CliError((error as Error).message);
  });
  // The hub forwards on behalf of a session; this one never receives server->client traffic.
  const session: HubSession = {
    id: 'tools-pin',
    subscriptions: new Set(),
    requestFromUpstream: () => Promise.reject(new Error('tools pin does not answer server requests')),
    notifyFromUpstream: () => {},
    upstreamClosed: () => {},
  };
  hub.attach(session);
  try {
    const capabilities = hub.capabilities as Record<string, unknown>;
    const snapshot: DefinitionSnapshot = { tools: [], prompts: [], resources: [], resourceTemplates: [] };
    let id = 0;
    for (const list of LISTS) {
      if (!capabilities[list.capability]) continue;
      const items: object[] = [];
      let cursor: unknown;
      for (let page = 0; page < 10_000; page++) {
        const result: McpResult = await hub.forward(
          session,
          ++id,
          { method: list.method, ...(cursor !== undefined ? { params: { cursor } } : {}) },
          { signal: AbortSignal.timeout(60_000), timeoutMs: 60_000 },
        );
        const pageItems = result[list.key];
        if (Array.isArray(pageItems)) items.push(...(pageItems as object[]));
        cursor = result.nextCursor;
        if (cursor === undefined || cursor === null || cursor === '') break;
      }
      snapshot[list.kind] = items;
    }
    const instructions = hub.instructions;
    return instructions !== undefined ? { ...snapshot, instructions } : snapshot;
  } finally {
    await hub.detach(session);
    await hub.close();
  }
}

export async function toolsPinCommand(
  opts: PinOptions,
  out: ToolsOutput,
  env?: Record<string, string | undefined>,
): Promise<number> {
  const name = required(opts.server, '--server', '--server filesystem');
  const cfg = await config(opts, env);
  const server = cfg.servers.find((s) => s.name === name);
  if (!server) {
    const known = cfg.servers.map((s) => s.name);
    throw new CliError(
      `no server '${name}' in ${cfg.configPath}${known.length ? ` (configured: ${known.join(', ')})` : ' (no servers configured)'}`,
      2,
    );
  }
  const lockPath = opts.lock ?? cfg.pinning.lockFile;
  const snapshot = await snapshotServer(server);
  const result = await pinningErrors(() =>
    pinServer(lockPath, name, snapshot, { approver: opts.approver ?? defaultApprover(), update: opts.update === true }),
  );
  const counts = LISTS.map((l) => `${snapshot[l.kind].length} ${l.kind}`).join(', ');
  out.stdout(`Server '${name}': ${counts}${snapshot.instructions !== undefined ? ', instructions' : ''}\n`);
  out.stdout(`Pinned ${result.pinned.length} new, ${result.unchanged} unchanged, in ${lockPath}\n`);
  for (const c of result.changed) {
    out.stdout(
      result.updated
        ? `Re-pinned changed ${c.kind} '${c.name}' (${c.oldHash.slice(0, 19)}… -> ${c.newHash.slice(0, 19)}…)\n`
        : `Changed since pinned, left pending: ${c.kind} '${c.name}' (review with 'atom-gov tools approve --server ${name}${c.kind === 'tools' ? '' : ` --kind ${c.kind}`} --tool ${c.name}', or re-run with --update)\n`,
    );
  }
  return result.changed.length > 0 && !result.updated ? 3 : 0;
}

export async function toolsApproveCommand(
  opts: ApproveOptions,
  out: ToolsOutput,
  env?: Record<string, string | undefined>,
): Promise<void> {
  const server = required(opts.server, '--server', '--server filesystem --tool read_file');
  const kind = (opts.kind ?? 'tools') as PinKind;
  if (!(PIN_KINDS as readonly string[]).includes(kind))
    throw new CliError(`--kind '${opts.kind}' is not one of: ${PIN_KINDS.join(', ')}`, 2);
  const name =
    kind === 'instructions' ? undefined : required(opts.tool, '--tool', `--server ${server} --tool read_file`);
  const lockPath = await lockPathOf(opts, env);
  const approved = await pinningErrors(() =>
    approveChange(lockPath, {
      server,
      kind,
      ...(name !== undefined ? { name } : {}),
      approver: opts.approver ?? defaultApprover(),
    }),
  );
  const label = kind === 'instructions' ? `instructions of '${server}'` : `${kind} '${approved.name}' of '${server}'`;
  out.stdout(`Approved ${approved.change.reason} ${label} by ${approved.approved.approvedBy}\n`);
  out.stdout(`${describeChange(approved.previous?.definition, approved.change.definition)}\n`);
  out.stdout(`${approved.previous ? `${approved.previous.hash} -> ` : ''}${approved.approved.hash}\n`);
}

export async function toolsStatusCommand(
  opts: StatusOptions,
  out: ToolsOutput,
  env?: Record<string, string | undefined>,
): Promise<number> {
  const format = opts.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new CliError(`--format '${format}' is not one of: table, json`, 2);
  const lockPath = await lockPathOf(opts, env);
  const rows = await pinningErrors(() => pinStatus(lockPath, opts.server));
  if (format === 'json') {
    out.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return rows.some((r) => r.state !== 'pinned') ? 3 : 0;
  }
  if (rows.length === 0) {
    out.stdout(`Nothing pinned yet in ${lockPath}: run 'atom-gov tools pin --server S'\n`);
    return 0;
  }
  const pending = rows.filter((r) => r.state !== 'pinned').length;
  const table = new Table({
    head: ['STATE', 'SERVER', 'KIND', 'NAME', 'HASH', 'SINCE (UTC)', 'BY'],
    chars: Object.fromEntries(TABLE_CHARS.map((c) => [c, ''])),
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2 },
  });
  for (const r of rows)
    table.push([
      r.state,
      r.server,
      r.kind,
      r.name,
      `${r.hash.slice(0, 19)}…`,
      r.since.slice(0, 19),
      r.approvedBy ?? '-',
    ]);
  out.stdout(
    `${table
      .toString()
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')}\n`,
  );
  out.stdout(`${rows.length - pending} pinned, ${pending} pending review (${lockPath})\n`);
  return pending > 0 ? 3 : 0;
}

const TABLE_CHARS = [
  'top',
  'top-mid',
  'top-left',
  'top-right',
  'bottom',
  'bottom-mid',
  'bottom-left',
  'bottom-right',
  'left',
  'left-mid',
  'mid',
  'mid-mid',
  'right',
  'right-mid',
  'middle',
];

const processOutput: ToolsOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Exit 3 = something awaits review (scripts can gate on it). */
const setExit = (code: number) => {
  if (code !== 0) process.exitCode = code;
};

export function register(program: Command): void {
  const tools = program.command('tools').description('Pin MCP tool definitions and review changes (rug-pull defence)');
  const common = (c: Command) =>
    c
      .option('--config <file>', 'configuration file')
      .option('--data-dir <dir>', 'data directory')
      .option('--lock <file>', 'pin lock file (default: pinning.lock_file, <data dir>/tools.lock.json)');
  common(
    tools
      .command('pin')
      .description("Record a server's current tool/prompt/resource definitions and instructions in the lock file")
      .option('--server <name>', 'configured server to pin')
      .option('--approver <name>', 'who pins (default: the OS user)')
      .option('--update', 're-pin definitions that changed instead of leaving them pending'),
  ).action(async (opts: PinOptions) => setExit(await toolsPinCommand(opts, processOutput)));
  common(
    tools
      .command('approve')
      .description('Accept a pending (changed or new) definition')
      .option('--server <name>', 'server')
      .option('--tool <name>', 'tool (or prompt name / resource URI with --kind)')
      .option('--kind <kind>', `what to approve: ${PIN_KINDS.join(', ')}`, 'tools')
      .option('--approver <name>', 'who approves (default: the OS user)'),
  ).action((opts: ApproveOptions) => toolsApproveCommand(opts, processOutput));
  common(
    tools
      .command('status')
      .description('List pinned and pending definitions (exit 3 when something awaits review)')
      .option('--server <name>', 'only this server')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (opts: StatusOptions) => setExit(await toolsStatusCommand(opts, processOutput)));
}
