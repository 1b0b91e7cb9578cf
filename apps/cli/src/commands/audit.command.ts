// `atom-gov audit [--config FILE] [--server S] [--tenant T] [--user U] [--decision D] [--operation ID] [--tool T]
//  [--outcome O] [--search TEXT] [--last 24h|--since TIME] [--until TIME] [--limit N] [--cursor C] [--follow]
//  [--format table|json|jsonl|csv]`: queries the audit trail, newest first (or tails it with --follow).
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditDecision, AuditEvent, AuditOutcome, AuditQuery, AuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, ConfigError, formatIssues, loadConfig, parseDuration } from '@atom-gov/config';
import { EXPORT_COLUMNS, plainTable, renderPlainTable } from '@atom-gov/reports';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { openAuditForConfig } from '../audit-access.js';
import { CliError } from '../run-cli.js';

// Kept here rather than imported so that loading the CLI does not load TypeORM for every other command;
// the check below fails to compile if @atom-gov/audit gains a decision this list lacks.
const AUDIT_DECISIONS = ['allow', 'deny', 'governed', 'error'] as const satisfies readonly AuditDecision[];
type MissingDecision = Exclude<AuditDecision, (typeof AUDIT_DECISIONS)[number]>;
const _everyDecisionListed: [MissingDecision] extends [never] ? true : MissingDecision = true;
const AUDIT_OUTCOMES = ['ok', 'error', 'denied', 'timeout', 'cancelled'] as const satisfies readonly AuditOutcome[];
type MissingOutcome = Exclude<AuditOutcome, (typeof AUDIT_OUTCOMES)[number]>;
const _everyOutcomeListed: [MissingOutcome] extends [never] ? true : MissingOutcome = true;
const MAX_SEARCH = 200;

export const AUDIT_FORMATS = ['table', 'json', 'jsonl', 'csv'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

/** The flags as commander hands them over: strings, unvalidated. */
export interface AuditOptions {
  config?: string;
  dataDir?: string;
  server?: string;
  tenant?: string;
  user?: string;
  decision?: string;
  last?: string;
  since?: string;
  until?: string;
  limit?: string;
  format?: string;
  operation?: string;
  tool?: string;
  outcome?: string;
  search?: string;
  cursor?: string;
  follow?: boolean;
}

export interface AuditOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 100_000;

/** Validates the flags into a store query; every bad value is a CliError that says what would be accepted. */
export function parseAuditOptions(
  opts: AuditOptions,
  extraArgs: readonly string[] = [],
  now: Date = new Date(),
): { query: AuditQuery; format: AuditFormat; follow: boolean } {
  const query: AuditQuery = {};
  // Values are only ever bound as query parameters, so any text is safe here; empty ones are mistakes.
  for (const [flag, key] of [
    ['server', 'server'],
    ['tenant', 'tenant'],
    ['user', 'user'],
    ['operation', 'operationId'],
    ['tool', 'target'],
    ['cursor', 'cursor'],
  ] as const) {
    const value = opts[flag];
    if (value !== undefined) {
      if (value.trim() === '') throw new CliError(`--${flag} needs a value`, 2);
      query[key] = value;
    }
  }
  if (opts.outcome !== undefined) {
    if (!(AUDIT_OUTCOMES as readonly string[]).includes(opts.outcome)) {
      throw new CliError(`--outcome '${opts.outcome}' is not one of: ${AUDIT_OUTCOMES.join(', ')}`, 2);
    }
    query.outcome = opts.outcome as AuditOutcome;
  }
  if (opts.search !== undefined) {
    if (opts.search.trim() === '' || opts.search.length > MAX_SEARCH) {
      throw new CliError(`--search needs 1 to ${MAX_SEARCH} characters of text`, 2);
    }
    query.text = opts.search;
  }
  if (opts.decision !== undefined) {
    if (!(AUDIT_DECISIONS as readonly string[]).includes(opts.decision)) {
      throw new CliError(`--decision '${opts.decision}' is not one of: ${AUDIT_DECISIONS.join(', ')}`, 2);
    }
    query.decision = opts.decision as AuditDecision;
  }
  if (opts.last !== undefined && opts.since !== undefined) {
    throw new CliError('use either --last or --since, not both', 2);
  }
  if (opts.last !== undefined) {
    const parsed = parseDuration(opts.last);
    if (!parsed.ok) throw new CliError(`--last: ${parsed.message} (e.g. --last 24h, --last 7d)`, 2);
    query.since = new Date(now.getTime() - parsed.value);
  }
  if (opts.since !== undefined) query.since = parseTime('--since', opts.since);
  if (opts.until !== undefined) query.until = parseTime('--until', opts.until);
  if (query.since && query.until && query.since >= query.until) {
    throw new CliError('--until must be later than the start of the time range', 2);
  }
  query.limit = DEFAULT_LIMIT;
  if (opts.limit !== undefined) {
    const limit = /^\d+$/.test(opts.limit) ? Number(opts.limit) : NaN;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new CliError(`--limit '${opts.limit}' must be a whole number from 1 to ${MAX_LIMIT}`, 2);
    }
    query.limit = limit;
  }
  const format = opts.format ?? 'table';
  if (!(AUDIT_FORMATS as readonly string[]).includes(format)) {
    throw new CliError(`--format '${format}' is not one of: ${AUDIT_FORMATS.join(', ')}`, 2);
  }
  const follow = opts.follow === true;
  if (follow) {
    if (format !== 'table' && format !== 'jsonl') throw new CliError('--follow prints table or jsonl lines', 2);
    if (query.until || query.cursor) throw new CliError('--follow shows new events: drop --until and --cursor', 2);
  }
  // `--last 3 days` leaves `days` over: say so rather than silently ignoring it.
  if (extraArgs.length > 0) {
    throw new CliError(
      `unexpected argument${extraArgs.length > 1 ? 's' : ''} ${extraArgs.map((a) => `'${a}'`).join(' ')} ` +
        '(durations are written without spaces, e.g. --last 3d; quote values that contain spaces)',
      2,
    );
  }
  return { query, format: format as AuditFormat, follow };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/i;

/** ISO 8601 date or date-time; without a zone it is UTC, like every time this command prints. */
function parseTime(flag: string, value: string): Date {
  const text = value.trim().replace(' ', 'T');
  const match = ISO_TIME.exec(text);
  // JavaScript reads a bare date as UTC but a bare date-time as local time: make both UTC.
  const time = match ? new Date(match[1] || text.length === 10 ? text : `${text}Z`) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new CliError(
      `${flag} '${value}' is not a time: use ISO 8601 such as 2026-11-24, 2026-11-24T13:00 (UTC) or 2026-11-24T13:00+01:00`,
      2,
    );
  }
  return time;
}

/** CSV field order: every stored field, as `atom-gov export` writes it. */
const FIELDS = EXPORT_COLUMNS;

/** Renders events; `table` is for people, the others for tools (all times ISO 8601 UTC). */
export function formatAuditEvents(events: readonly AuditEvent[], format: AuditFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(events, null, 2)}\n`;
    case 'jsonl':
      return events.map((e) => `${JSON.stringify(e)}\n`).join('');
    case 'csv':
      return stringify(
        events.map((e) => FIELDS.map((f) => csvCell(e[f]))),
        // escape_formulas: a spreadsheet must not run `=HYPERLINK(...)` smuggled in through tool arguments.
        { header: true, columns: [...FIELDS], escape_formulas: true },
      );
    case 'table':
      return formatTable(events);
  }
}

function csvCell(value: AuditEvent[keyof AuditEvent]): string | number {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.join(';');
  return value;
}

function formatTable(events: readonly AuditEvent[]): string {
  if (events.length === 0) return 'No audit events match.\n';
  const table = plainTable([
    'TIME (UTC)',
    'TENANT',
    'USER',
    'SERVER',
    'METHOD',
    'TARGET',
    'DECISION',
    'OUTCOME',
    'MS',
    'POLICY',
  ]);
  for (const e of events) {
    table.push([
      e.time.toISOString().replace('T', ' ').slice(0, 19),
      cell(e.tenant),
      cell(e.user),
      cell(e.server),
      cell(e.method),
      cell(e.target),
      e.decision,
      e.outcome,
      String(e.durationMs),
      cell(e.policy),
    ]);
  }
  const body = renderPlainTable(table);
  return `${body}\n${events.length} event${events.length === 1 ? '' : 's'}, newest first\n`;
}

/** One line per event: control characters become spaces, long values are cut. */
function cell(value: string | undefined, max = 40): string {
  if (value === undefined) return '-';
  // eslint-disable-next-line no-control-regex
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Loads the config with user-facing errors (shared by the audit subcommands). */
export async function loadAuditConfig(
  opts: Pick<AuditOptions, 'config' | 'dataDir'>,
  env?: Record<string, string | undefined>,
): Promise<AtomGovConfig> {
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

/** A store query whose bad input (e.g. a mangled cursor) is the user's mistake, not a crash. */
export async function queryAudit(store: Pick<AuditStore, 'query'>, query: AuditQuery): Promise<AuditEvent[]> {
  try {
    return await store.query(query);
  } catch (error) {
    if ((error as { code?: string }).code === 'AUDIT_EVENT_INVALID') {
      throw new CliError((error as Error).message.replace(/^invalid audit query: /, ''), 2);
    }
    throw error;
  }
}

export interface FollowOptions {
  /** Stops following (Ctrl-C in the CLI; tests abort it). */
  signal?: AbortSignal;
  pollMs?: number;
}

/** Events can be stored a little after their time (long calls, spool replay): re-read this far back, skip seen ids. */
const FOLLOW_LOOKBACK_MS = 120_000;

/** Loads the config, queries its audit store and prints the result (or tails it with --follow). */
export async function auditCommand(
  opts: AuditOptions,
  extraArgs: readonly string[],
  out: AuditOutput,
  env?: Record<string, string | undefined>,
  followOpts: FollowOptions = {},
): Promise<void> {
  const { query, format, follow } = parseAuditOptions(opts, extraArgs);
  const config = await loadAuditConfig(opts, env);
  const { url: databaseUrl, sqlitePath } = config.database;
  // A query must not create an empty database (e.g. under a mistyped --data-dir): nothing recorded yet is no events.
  if (databaseUrl === undefined && !existsSync(sqlitePath) && !follow) {
    out.stderr(`No audit database at ${sqlitePath} yet: events are recorded once the gateway handles calls.\n`);
    out.stdout(formatAuditEvents([], format));
    return;
  }
  const store = await openAuditForConfig(config, { forReading: true, ...(env ? { env } : {}) });
  try {
    if (follow) {
      await followAudit(store, query, format, out, followOpts);
      return;
    }
    const events = await queryAudit(store, query);
    out.stdout(formatAuditEvents(events, format));
    const last = events.at(-1);
    if (last && events.length === query.limit) {
      out.stderr(`More events: repeat with --cursor ${encodeCursor(last)}\n`);
    }
  } finally {
    await store.close();
  }
}

/** Same encoding as @atom-gov/audit's encodeAuditCursor (kept here so this module does not load TypeORM). */
function encodeCursor(event: Pick<AuditEvent, 'time' | 'id'>): string {
  return Buffer.from(JSON.stringify([event.time.toISOString(), event.id]), 'utf8').toString('base64url');
}

/** Prints the latest events oldest first, then every new one as it is stored, until the signal aborts. */
async function followAudit(
  store: Pick<AuditStore, 'query'>,
  query: AuditQuery,
  format: AuditFormat,
  out: AuditOutput,
  opts: FollowOptions,
): Promise<void> {
  const seen = new Map<string, number>();
  const print = (events: AuditEvent[]) => {
    for (const e of events) {
      if (seen.has(e.id)) continue;
      seen.set(e.id, e.time.getTime());
      out.stdout(format === 'jsonl' ? `${JSON.stringify(e)}\n` : `${formatLine(e)}\n`);
    }
  };
  const initial = await queryAudit(store, { ...query, order: 'desc' });
  print(initial.reverse());
  let newest = Math.max(Date.now(), ...initial.map((e) => e.time.getTime()));
  const pollMs = opts.pollMs ?? 1000;
  while (!opts.signal?.aborted) {
    try {
      await sleep(pollMs, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      return; // aborted
    }
    const since = new Date(Math.max(query.since?.getTime() ?? 0, newest - FOLLOW_LOOKBACK_MS));
    let cursor: string | undefined;
    for (;;) {
      const page = await queryAudit(store, {
        ...query,
        since,
        order: 'asc',
        ...(cursor !== undefined ? { cursor } : {}),
      });
      print(page);
      for (const e of page) newest = Math.max(newest, e.time.getTime());
      const last = page.at(-1);
      if (!last || page.length < (query.limit ?? DEFAULT_LIMIT)) break;
      cursor = encodeCursor(last);
    }
    // Forget ids that fell out of the look-back window: memory stays bounded however long this runs.
    for (const [id, time] of seen) if (time < newest - 2 * FOLLOW_LOOKBACK_MS) seen.delete(id);
  }
}

/** One event per line for --follow (tab-separated columns of the table). */
export function formatLine(e: AuditEvent): string {
  return [
    e.time.toISOString().replace('T', ' ').slice(0, 19),
    cell(e.tenant),
    cell(e.user),
    cell(e.server),
    cell(e.method),
    cell(e.target),
    e.decision,
    e.outcome,
    `${e.durationMs}ms`,
    cell(e.policy),
    cell(e.operationId, 60),
  ].join('\t');
}

const processOutput: AuditOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export function register(program: Command): void {
  program
    .command('audit')
    .description('Show audit events, newest first (e.g. atom-gov audit --server cloudflare_mcp --last 24h)')
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .option(
      '--data-dir <dir>',
      'data directory holding audit.sqlite (default: ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)',
    )
    .option('--server <name>', 'only events for this MCP server')
    .option('--tenant <tenant>', 'only events of this tenant')
    .option('--user <user>', 'only events of this user')
    .option('--decision <decision>', `only this decision: ${AUDIT_DECISIONS.join(', ')}`)
    .option('--operation <id>', 'only the events of this operation (see also: atom-gov audit show ID)')
    .option('--tool <name>', 'only calls of this tool (or resource uri / prompt name)')
    .option('--outcome <outcome>', `only this outcome: ${AUDIT_OUTCOMES.join(', ')}`)
    .option('--search <text>', 'only events containing this text (any field that is not encrypted)')
    .option('--cursor <cursor>', 'continue after the last page (the command prints the cursor when there is more)')
    .option('--follow', 'keep printing new events as they are recorded (Ctrl-C to stop)')
    .option('--last <duration>', 'only the last period, e.g. 30m, 24h, 7d')
    .option('--since <time>', 'only events at or after this time (ISO 8601, UTC unless an offset is given)')
    .option('--until <time>', 'only events before this time (ISO 8601)')
    .option('--limit <n>', `at most this many events (default ${DEFAULT_LIMIT})`)
    .option('--format <format>', `output format: ${AUDIT_FORMATS.join(', ')} (default table)`)
    .allowExcessArguments(true)
    .action(async (opts: AuditOptions, command: Command) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        await auditCommand(opts, command.args, processOutput, undefined, { signal: stop.signal });
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}
