// `atom-gov audit [--config FILE] [--server S] [--tenant T] [--user U] [--decision D] [--last 24h|--since TIME]
//  [--until TIME] [--limit N] [--format table|json|jsonl|csv]`: queries the audit trail, newest first.
import { existsSync } from 'node:fs';
import type { AuditDecision, AuditEvent, AuditQuery } from '@atom-gov/audit';
import { ConfigError, formatIssues, loadConfig, parseDuration } from '@atom-gov/config';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { CliError } from '../run-cli.js';

// Kept here rather than imported so that loading the CLI does not load TypeORM for every other command;
// the check below fails to compile if @atom-gov/audit gains a decision this list lacks.
const AUDIT_DECISIONS = ['allow', 'deny', 'governed', 'error'] as const satisfies readonly AuditDecision[];
type MissingDecision = Exclude<AuditDecision, (typeof AUDIT_DECISIONS)[number]>;
const _everyDecisionListed: [MissingDecision] extends [never] ? true : MissingDecision = true;

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
): { query: AuditQuery; format: AuditFormat } {
  const query: AuditQuery = {};
  for (const key of ['server', 'tenant', 'user'] as const) {
    const value = opts[key];
    if (value !== undefined) {
      if (value.trim() === '') throw new CliError(`--${key} needs a value`, 2);
      query[key] = value;
    }
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
  // `--last 3 days` leaves `days` over: say so rather than silently ignoring it.
  if (extraArgs.length > 0) {
    throw new CliError(
      `unexpected argument${extraArgs.length > 1 ? 's' : ''} ${extraArgs.map((a) => `'${a}'`).join(' ')} ` +
        '(durations are written without spaces, e.g. --last 3d; quote values that contain spaces)',
      2,
    );
  }
  return { query, format: format as AuditFormat };
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

/** CSV/JSON field order: every stored field. */
const FIELDS = [
  'id',
  'time',
  'tenant',
  'user',
  'sessionId',
  'server',
  'method',
  'target',
  'decision',
  'policy',
  'rules',
  'configVersion',
  'intent',
  'outcome',
  'errorMessage',
  'durationMs',
  'requestBytes',
  'responseBytes',
  'argsSummary',
  'resultSummary',
  'operationId',
] as const satisfies ReadonlyArray<keyof AuditEvent>;

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
  const table = new Table({
    head: ['TIME (UTC)', 'TENANT', 'USER', 'SERVER', 'METHOD', 'TARGET', 'DECISION', 'OUTCOME', 'MS', 'POLICY'],
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
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
  // cli-table3 pads the last column too; trailing blanks only get in the way of copy and grep.
  const body = table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
  return `${body}\n${events.length} event${events.length === 1 ? '' : 's'}, newest first\n`;
}

/** One line per event: control characters become spaces, long values are cut. */
function cell(value: string | undefined, max = 40): string {
  if (value === undefined) return '-';
  // eslint-disable-next-line no-control-regex
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Loads the config, queries its audit store and prints the result. */
export async function auditCommand(
  opts: AuditOptions,
  extraArgs: readonly string[],
  out: AuditOutput,
  env?: Record<string, string | undefined>,
): Promise<void> {
  const { query, format } = parseAuditOptions(opts, extraArgs);
  let config;
  try {
    config = await loadConfig({
      ...(opts.config !== undefined ? { configPath: opts.config } : {}),
      ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      ...(env ? { env } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`the configuration is not valid:\n${formatIssues(error.issues)}`);
    throw error;
  }
  const { url: databaseUrl, sqlitePath } = config.database;
  // A query must not create an empty database (e.g. under a mistyped --data-dir): nothing recorded yet is no events.
  if (databaseUrl === undefined && !existsSync(sqlitePath)) {
    out.stderr(`No audit database at ${sqlitePath} yet: events are recorded once the gateway handles calls.\n`);
    out.stdout(formatAuditEvents([], format));
    return;
  }
  const { openAuditStore } = await import('@atom-gov/audit');
  const store = await openAuditStore({ ...(databaseUrl !== undefined ? { databaseUrl } : {}), sqlitePath });
  try {
    out.stdout(formatAuditEvents(await store.query(query), format));
  } finally {
    await store.close();
  }
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
    .option('--last <duration>', 'only the last period, e.g. 30m, 24h, 7d')
    .option('--since <time>', 'only events at or after this time (ISO 8601, UTC unless an offset is given)')
    .option('--until <time>', 'only events before this time (ISO 8601)')
    .option('--limit <n>', `at most this many events (default ${DEFAULT_LIMIT})`)
    .option('--format <format>', `output format: ${AUDIT_FORMATS.join(', ')} (default table)`)
    .allowExcessArguments(true)
    .action(async (opts: AuditOptions, command: Command) => {
      await auditCommand(opts, command.args, processOutput);
    });
}
