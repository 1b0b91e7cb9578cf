// Shared by `atom-gov export`, `compliance-report` and `costs`: config loading, opening the audit store as a reader
// (sealed fields opened when the master key is at hand), time flags, and turning ReportError into CliError.
import { existsSync } from 'node:fs';
import type { AuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, ConfigError, formatIssues, loadConfig, parseDuration, readEnv } from '@atom-gov/config';
import { CliError } from '../run-cli.js';

export interface ReportFlags {
  config?: string;
  dataDir?: string;
}

export interface ReportIo {
  stdout: (text: string | Buffer) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress bars only there). */
  isTty: boolean;
}

export const processIo: ReportIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: Boolean(process.stderr.isTTY),
};

export async function loadReportConfig(
  flags: ReportFlags,
  env?: Record<string, string | undefined>,
): Promise<AtomGovConfig> {
  try {
    return await loadConfig({
      ...(flags.config !== undefined ? { configPath: flags.config } : {}),
      ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
      ...(env ? { env } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`the configuration is not valid:\n${formatIssues(error.issues)}`, 2);
    throw error;
  }
}

/** Undefined when there is no SQLite file yet: a report must not create an empty database under a typo'd dir. */
export async function openReportStore(
  config: AtomGovConfig,
  env?: Record<string, string | undefined>,
): Promise<AuditStore | undefined> {
  const { url: databaseUrl, sqlitePath } = config.database;
  if (databaseUrl === undefined && !existsSync(sqlitePath)) return undefined;
  const { openConfiguredAuditStore } = await import('@atom-gov/audit');
  const masterKey = readEnv('ATOM_GOV_MASTER_KEY', env);
  const masterKeyFile = readEnv('ATOM_GOV_MASTER_KEY_FILE', env);
  return openConfiguredAuditStore({
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    sqlitePath,
    dataDir: config.dataDir,
    encrypt: config.global.encryption || config.audit.encrypt,
    // A reader never redacts (nothing is written) and opens sealed fields whenever a key is available.
    piiRedaction: false,
    forReading: true,
    ...(masterKey !== undefined ? { masterKey } : {}),
    ...(masterKeyFile !== undefined ? { masterKeyFile } : {}),
  });
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/i;

/** ISO 8601 date or date-time; without a zone it is UTC. */
export function parseTimeFlag(flag: string, value: string): Date {
  const text = value.trim().replace(' ', 'T');
  const match = ISO_TIME.exec(text);
  const time = match ? new Date(match[1] || text.length === 10 ? text : `${text}Z`) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new CliError(
      `${flag} '${value}' is not a time: use ISO 8601 such as 2026-11-24, 2026-11-24T13:00 (UTC) or 2026-11-24T13:00+01:00`,
      2,
    );
  }
  return time;
}

/** --last / --since / --until into a half-open range. */
export function parseRange(
  opts: { last?: string; since?: string; until?: string },
  now: Date = new Date(),
): { since?: Date; until?: Date } {
  if (opts.last !== undefined && opts.since !== undefined)
    throw new CliError('use either --last or --since, not both', 2);
  const range: { since?: Date; until?: Date } = {};
  if (opts.last !== undefined) {
    const parsed = parseDuration(opts.last);
    if (!parsed.ok) throw new CliError(`--last: ${parsed.message} (e.g. --last 24h, --last 30d)`, 2);
    range.since = new Date(now.getTime() - parsed.value);
  }
  if (opts.since !== undefined) range.since = parseTimeFlag('--since', opts.since);
  if (opts.until !== undefined) range.until = parseTimeFlag('--until', opts.until);
  if (range.since && range.until && range.since >= range.until) {
    throw new CliError('--until must be later than the start of the time range', 2);
  }
  return range;
}

export function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new CliError(`${flag} needs a value`, 2);
  return value;
}

/** Runs `fn`, turning the reports lib's user errors into CliError (exit 2: fix the input). */
export async function asCli<T>(fn: () => Promise<T>): Promise<T> {
  const { ReportError } = await import('@atom-gov/reports');
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ReportError) throw new CliError(error.message, 2);
    throw error;
  }
}
