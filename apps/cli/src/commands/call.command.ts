// `atom-gov call --server S --tool T --args JSON`: one governed tool call through the running gateway, for CI
// pipelines. Waits for approval (progress on stderr), prints the result on stdout, and exits 0 on success, 10 when
// denied, 11 when timed out (approval timeout or --timeout), 12 when the call failed. Also backs the seed's
// `atom-gov proxy --server S -- mcp-tool workers deploy --env production` form (see callToolWords).
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration, readEnv } from '@atom-gov/config';
import { OPERATION_META_KEY, type OperationMeta } from '@atom-gov/contracts';
import { GatewayCallError, GatewayClient, type GatewayTool, type McpResult } from '@atom-gov/mcp';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';
import { gatewayBaseUrl } from './proxy.command.js';
import { loadRuntimeConfig } from './runtime-parts.js';

/** Exit codes of `atom-gov call` (documented in the README's CLI table). */
export const CALL_EXIT = { ok: 0, usage: 2, denied: 10, timedOut: 11, failed: 12 } as const;

export interface CallFlags {
  server: string;
  tool: string;
  args?: string;
  url?: string;
  config?: string;
  apiKey?: string;
  timeout?: string;
  poll?: string;
  json?: boolean;
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}
const stdio: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`atom-gov call: ${t}\n`),
};

function durationFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const d = parseDuration(value);
  if (!d.ok) throw new CliError(`${flag} '${value}': ${d.message}`, CALL_EXIT.usage);
  return d.value;
}

export function parseArgsFlag(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new CliError(
      `--args is not valid JSON (${(error as Error).message}); pass an object such as '{"env":"production"}'`,
      CALL_EXIT.usage,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError(`--args must be a JSON object such as '{"env":"production"}', got ${value}`, CALL_EXIT.usage);
  return parsed as Record<string, unknown>;
}

/** The gateway to call and where that address came from (said in the error when nothing answers there). */
interface GatewayTarget {
  url: string;
  from: string;
  /** The config file, when the address came from it (for the `atom-gov start --config` hint). */
  configPath?: string;
}

async function gatewayUrl(flags: { url?: string; config?: string }): Promise<GatewayTarget> {
  if (flags.url !== undefined) return { url: flags.url, from: '--url' };
  const env = readEnv('ATOM_GOV_URL');
  if (env !== undefined) return { url: env, from: 'ATOM_GOV_URL' };
  const config = await loadRuntimeConfig({ config: flags.config });
  return {
    url: gatewayBaseUrl(config),
    from: `gateway.host/port of ${config.configPath}`,
    configPath: config.configPath,
  };
}

/**
 * `call` does not start a gateway (unlike `proxy`): in CI it is meant to reach the shared gateway that approvers
 * and the audit trail are attached to, and a private gateway started on the runner would govern with another audit
 * database and die with the job. When nothing answers, say so once, with the ways out.
 */
export function noGatewayError(target: GatewayTarget, server: string, tool: string): CliError {
  const config = target.configPath !== undefined ? ` --config ${target.configPath}` : '';
  return new CliError(
    [
      `no ATOM-GOV gateway answers at ${target.url} (the address from ${target.from}).`,
      `Start one and leave it running: \`atom-gov start${config}\` (in a CI job: \`atom-gov start${config} &\` before this step),`,
      'or point --url / ATOM_GOV_URL at a running gateway,',
      `or use \`atom-gov proxy --server ${server}${config} -- mcp-tool ${tool}\`, which starts one in the background.`,
    ].join('\n  '),
    CALL_EXIT.failed,
  );
}

async function connect(
  url: string,
  server: string,
  apiKey: string | undefined,
  unreachable?: () => CliError,
): Promise<GatewayClient> {
  try {
    return await GatewayClient.connect({ url, server, ...(apiKey !== undefined ? { apiKey } : {}) });
  } catch (error) {
    if (unreachable && error instanceof GatewayCallError && error.kind === 'unreachable') throw unreachable();
    throw asCliError(error);
  }
}

function asCliError(error: unknown): unknown {
  if (!(error instanceof GatewayCallError)) return error;
  return new CliError(error.message, error.kind === 'timeout' ? CALL_EXIT.timedOut : CALL_EXIT.failed);
}

function textOf(result: McpResult): string {
  const content = Array.isArray(result.content) ? (result.content as Array<Record<string, unknown>>) : [];
  return content.map((c) => (c.type === 'text' && typeof c.text === 'string' ? c.text : JSON.stringify(c))).join('\n');
}

function metaOf(result: McpResult): OperationMeta | undefined {
  const meta = result._meta as Record<string, unknown> | undefined;
  return meta?.[OPERATION_META_KEY] as OperationMeta | undefined;
}

/**
 * Calls until decided: a deferred answer (approval_mode defer) is repeated every `pollMs` (the repeat attaches to
 * the same operation), a waiting answer streams progress. Resolves with the exit code; throws CliError otherwise.
 */
export async function runCall(
  opts: {
    url: string;
    server: string;
    tool: string;
    args: Record<string, unknown>;
    apiKey?: string;
    timeoutMs?: number;
    pollMs?: number;
    json?: boolean;
    client?: GatewayClient;
  },
  io: Io = stdio,
): Promise<number> {
  const client = opts.client ?? (await connect(opts.url, opts.server, opts.apiKey));
  const deadline = opts.timeoutMs !== undefined ? Date.now() + opts.timeoutMs : undefined;
  const gaveUp = () =>
    new CliError(
      `gave up after --timeout ${Math.round((opts.timeoutMs ?? 0) / 1000)} s; the operation was cancelled`,
      CALL_EXIT.timedOut,
    );
  let lastProgress: string | undefined;
  try {
    for (let round = 0; ; round++) {
      const left = deadline !== undefined ? deadline - Date.now() : undefined;
      if (left !== undefined && left <= 0) throw gaveUp();
      let result: McpResult;
      try {
        result = await client.callTool(opts.tool, opts.args, {
          onProgress: (message) => {
            if (message !== undefined && message !== lastProgress) io.err(message);
            lastProgress = message;
          },
          ...(left !== undefined ? { maxTotalMs: left } : {}),
        });
      } catch (error) {
        if (error instanceof GatewayCallError && error.kind === 'timeout' && deadline !== undefined) throw gaveUp();
        throw asCliError(error);
      }
      const meta = metaOf(result);
      if (meta?.status === 'deferred') {
        if (round === 0) io.err(meta.message);
        else if (round % 12 === 0) io.err(`still waiting for approval (operation ${meta.operationId})`);
        const wait = Math.min(
          opts.pollMs ?? 5000,
          deadline !== undefined ? Math.max(0, deadline - Date.now()) : Infinity,
        );
        await sleep(wait);
        continue;
      }
      return finish(result, meta, opts.json === true, io);
    }
  } finally {
    if (!opts.client) await client.close();
  }
}

function finish(result: McpResult, meta: OperationMeta | undefined, json: boolean, io: Io): number {
  const text = textOf(result);
  if (result.isError !== true) {
    io.out(json ? JSON.stringify(result, null, 2) : text);
    return CALL_EXIT.ok;
  }
  if (meta?.status === 'denied')
    throw new CliError(text, meta.decisionReason === 'timeout_deny' ? CALL_EXIT.timedOut : CALL_EXIT.denied);
  if (meta?.status === 'unavailable') throw new CliError(text, CALL_EXIT.failed);
  // Fast-path policy refusals (rate limits, visibility, time windows) are worded "Denied by policy ...".
  if (/^Denied\b/.test(text)) throw new CliError(text, CALL_EXIT.denied);
  if (json) io.out(JSON.stringify(result, null, 2));
  throw new CliError(`the tool call failed: ${text}`, CALL_EXIT.failed);
}

export async function callFromCli(flags: CallFlags): Promise<number> {
  const args = parseArgsFlag(flags.args);
  const timeoutMs = durationFlag(flags.timeout, '--timeout');
  const pollMs = durationFlag(flags.poll, '--poll');
  const target = await gatewayUrl(flags);
  const apiKey = flags.apiKey ?? readEnv('ATOM_GOV_API_KEY');
  const client = await connect(target.url, flags.server, apiKey, () =>
    noGatewayError(target, flags.server, flags.tool),
  );
  try {
    return await runCall({
      url: target.url,
      client,
      server: flags.server,
      tool: flags.tool,
      args,
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(pollMs !== undefined ? { pollMs } : {}),
      ...(flags.json ? { json: true } : {}),
    });
  } finally {
    await client.close();
  }
}

// ---- the seed's `-- mcp-tool workers deploy --env production` form ----------------------------------------

/** `[mcp-tool] workers deploy --env production --dry-run` -> tool words and raw options. */
export function parseToolWords(words: readonly string[]): {
  toolWords: string[];
  options: Record<string, string | true>;
} {
  const rest = words[0] === 'mcp-tool' ? words.slice(1) : [...words];
  const toolWords: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (!w.startsWith('--')) {
      if (Object.keys(options).length > 0)
        throw new CliError(
          `'${w}' comes after the options; put the tool name first (mcp-tool workers deploy --env production)`,
          CALL_EXIT.usage,
        );
      toolWords.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    if (eq > 2) {
      options[w.slice(2, eq)] = w.slice(eq + 1);
    } else {
      const next = rest[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        options[w.slice(2)] = next;
        i++;
      } else options[w.slice(2)] = true;
    }
  }
  if (toolWords.length === 0)
    throw new CliError('name the tool after --, e.g. -- mcp-tool workers deploy --env production', CALL_EXIT.usage);
  return { toolWords, options };
}

/** The listed tool the words name: `workers deploy` matches workers.deploy, workers_deploy, workers-deploy, workers/deploy. */
export function resolveTool(toolWords: readonly string[], tools: readonly GatewayTool[]): GatewayTool | undefined {
  const candidates = ['.', '_', '-', '/', ''].map((sep) => toolWords.join(sep));
  for (const c of candidates) {
    const exact = tools.find((t) => t.name === c);
    if (exact) return exact;
  }
  const lower = new Set(candidates.map((c) => c.toLowerCase()));
  return tools.find((t) => lower.has(t.name.toLowerCase()));
}

/** Options as the tool's input schema types them (`--count 3` is a number when the schema says so). */
export function typedArguments(options: Record<string, string | true>, tool: GatewayTool): Record<string, unknown> {
  const props = ((tool.inputSchema?.properties ?? {}) as Record<string, { type?: unknown }>) ?? {};
  const keyOf = (name: string): string => {
    if (name in props) return name;
    const snake = name.replace(/-/g, '_');
    const camel = name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    return snake in props ? snake : camel in props ? camel : name;
  };
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(options)) {
    const key = keyOf(name);
    const type = props[key]?.type;
    const types = Array.isArray(type) ? type : [type];
    if (raw === true) {
      out[key] = true;
    } else if (types.includes('number') || types.includes('integer')) {
      const n = Number(raw);
      if (
        raw.trim() === '' ||
        !Number.isFinite(n) ||
        (types.includes('integer') && !types.includes('number') && !Number.isInteger(n))
      )
        throw new CliError(
          `--${name} '${raw}' is not a ${types.includes('integer') ? 'whole number' : 'number'}`,
          CALL_EXIT.usage,
        );
      out[key] = n;
    } else if (types.includes('boolean')) {
      if (raw !== 'true' && raw !== 'false')
        throw new CliError(`--${name} '${raw}' must be true or false`, CALL_EXIT.usage);
      out[key] = raw === 'true';
    } else if (types.includes('object') || types.includes('array')) {
      try {
        out[key] = JSON.parse(raw);
      } catch {
        throw new CliError(`--${name} expects JSON (${types.join('/')}), got '${raw}'`, CALL_EXIT.usage);
      }
    } else {
      out[key] = raw;
    }
  }
  return out;
}

/**
 * `atom-gov proxy --server S -- mcp-tool <tool words> [--name value ...]`: resolve the tool on the gateway, type the
 * options by its schema, then call it like `atom-gov call`. `url` is the gateway the proxy found or started.
 */
export async function callToolWords(opts: { url: string; server: string; words: readonly string[] }): Promise<number> {
  const { toolWords, options } = parseToolWords(opts.words);
  const apiKey = readEnv('ATOM_GOV_API_KEY');
  const client = await connect(opts.url, opts.server, apiKey);
  try {
    let tools: GatewayTool[];
    try {
      tools = await client.listTools();
    } catch (error) {
      throw asCliError(error);
    }
    const tool = resolveTool(toolWords, tools);
    if (!tool) {
      const names = tools.map((t) => t.name).join(', ') || '(none visible to you)';
      throw new CliError(
        `no tool named '${toolWords.join(' ')}' on ${opts.server} (tried ${toolWords.join('.')}, ${toolWords.join('_')}, ${toolWords.join('-')}); tools: ${names}`,
        CALL_EXIT.usage,
      );
    }
    return await runCall({
      url: opts.url,
      server: opts.server,
      tool: tool.name,
      args: typedArguments(options, tool),
      client,
    });
  } finally {
    await client.close();
  }
}

export function register(program: Command): void {
  program
    .command('call')
    .description(
      'Call one tool through the running gateway (CI): waits for approval, prints the result; exit 0 ok, 10 denied, 11 timed out, 12 failed',
    )
    .requiredOption('--server <name>', 'the server name from the configuration')
    .requiredOption('--tool <name>', 'the tool to call')
    .option('--args <json>', 'tool arguments as a JSON object', '{}')
    .option('--url <url>', 'gateway URL (default: ATOM_GOV_URL, else gateway.host/port of the configuration)')
    .option('--config <file>', 'configuration file (for the gateway address)')
    .option('--api-key <key>', 'API key from gateway.api_keys (default: ATOM_GOV_API_KEY)')
    .option('--timeout <duration>', 'give up (and cancel the operation) after this long, e.g. 30m; exit 11')
    .option('--poll <duration>', 'with approval_mode defer: how often to repeat the call while pending (default 5s)')
    .option('--json', 'print the whole MCP result as JSON')
    .action(async (flags: CallFlags) => {
      process.exitCode = await callFromCli(flags);
    });
}
