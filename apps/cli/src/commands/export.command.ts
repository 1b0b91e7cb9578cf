// `atom-gov export --format json|jsonl|csv [--since T] [--until T | --last D] [--tenant T] [--server S]
//  --output FILE [--encrypt] [--recipient KEYFILE...] [--force]`: streams the audit trail, oldest first, into a
// file; with --encrypt an OpenPGP message to the recipients' public keys (default: the config's export.recipients),
// as in the seed's `atom-gov export --format json --encrypt --output audit-$(date +%Y%m%d).json.gpg`.
import { existsSync } from 'node:fs';
import type { AuditQuery } from '@atom-gov/audit';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';
import {
  asCli,
  loadReportConfig,
  nonEmpty,
  openReportStore,
  parseRange,
  processIo,
  type ReportFlags,
  type ReportIo,
} from './report-support.js';

const FORMATS = ['json', 'jsonl', 'csv'] as const;
/** Events read per query; the bench (bench/audit-export.bench.ts) uses the same. */
const EXPORT_PAGE = 1000;
type Format = (typeof FORMATS)[number];

export interface ExportFlags extends ReportFlags {
  format?: string;
  output?: string;
  since?: string;
  until?: string;
  last?: string;
  tenant?: string;
  server?: string;
  encrypt?: boolean;
  recipient?: string[];
  force?: boolean;
}

export interface ParsedExport {
  format: Format;
  output: string;
  query: AuditQuery;
  encrypt: boolean;
  recipients: string[];
  force: boolean;
}

export function parseExportFlags(flags: ExportFlags, now: Date = new Date()): ParsedExport {
  const format = flags.format ?? 'jsonl';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new CliError(`--format '${format}' is not one of: ${FORMATS.join(', ')}`, 2);
  }
  const output = nonEmpty('--output', flags.output);
  if (output === undefined) throw new CliError('--output FILE is required (e.g. --output audit-20261125.json)', 2);
  const query: AuditQuery = { ...parseRange(flags, now) };
  const tenant = nonEmpty('--tenant', flags.tenant);
  const server = nonEmpty('--server', flags.server);
  if (tenant !== undefined) query.tenant = tenant;
  if (server !== undefined) query.server = server;
  const recipients = flags.recipient ?? [];
  return {
    format: format as Format,
    output,
    query,
    // A recipient without --encrypt still means "encrypt to this key": never write plain text someone asked to seal.
    encrypt: Boolean(flags.encrypt) || recipients.length > 0,
    recipients,
    force: Boolean(flags.force),
  };
}

export async function exportCommand(
  flags: ExportFlags,
  io: ReportIo = processIo,
  env?: Record<string, string | undefined>,
): Promise<void> {
  const p = parseExportFlags(flags);
  if (existsSync(p.output) && !p.force) {
    throw new CliError(`${p.output} already exists: choose another --output or pass --force to overwrite it`, 2);
  }
  if (!p.encrypt && /\.(gpg|pgp|asc)$/i.test(p.output)) {
    io.stderr(`warning: ${p.output} looks like an encrypted file name, but the export is not encrypted (--encrypt)\n`);
  }
  const config = await loadReportConfig(flags, env);
  const reports = await import('@atom-gov/reports');
  const recipientFiles = p.recipients.length > 0 ? p.recipients : [...config.export.recipients];
  // Keys are checked before the database is touched: a bad key file fails in a second, not after a long export.
  const keys = p.encrypt ? await asCli(() => reports.readRecipientKeys(recipientFiles)) : [];
  if (p.encrypt && keys.length === 0) {
    // Like `gpg --encrypt --default-recipient-self`: the operator's own key, so they can `gpg --decrypt` it.
    const own = await asCli(() => reports.readOwnGpgKey());
    if (!own) {
      throw new CliError(
        '--encrypt needs a recipient: pass --recipient KEYFILE (an OpenPGP public key, e.g. from ' +
          '`gpg --armor --export auditor@example.com > auditor.asc`), list key files under export.recipients in ' +
          `${config.configPath}, or create your own GnuPG key (gpg --quick-gen-key you@example.com), which is used ` +
          'when no recipient is given',
        2,
      );
    }
    keys.push(own);
  }
  const store = await openReportStore(config, env);
  if (!store) io.stderr(`No audit database at ${config.database.sqlitePath} yet: the export is empty.\n`);
  try {
    // Pages of 1000: with 2000 the page in hand at each young-generation collection was about twice as large, and a
    // million-event CSV export used ~40% more CPU in A/B runs (250 and 1000 were alike).
    const stream = store?.stream(p.query, { batchSize: EXPORT_PAGE });
    const total = stream ? await stream.count() : 0;
    const progress = io.isTty && total > 0 ? await progressBar(total) : undefined;
    const result = await asCli(() =>
      reports.exportAuditEvents(stream ?? empty(), {
        format: p.format,
        output: p.output,
        recipients: keys,
        ...(progress ? { onProgress: (n: number) => progress.update(n) } : {}),
      }),
    ).finally(() => progress?.stop());
    const sealed = result.encrypted ? `, OpenPGP-encrypted to ${keys.map((k) => describeKey(k)).join(', ')}` : '';
    io.stdout(
      `Exported ${result.events} audit events to ${result.output} (${p.format}, ${result.bytes} bytes${sealed})\n`,
    );
  } finally {
    await store?.close();
  }
}

async function* empty(): AsyncGenerator<never> {}

function describeKey(key: { getUserIDs(): string[]; getFingerprint(): string }): string {
  const id = key.getUserIDs()[0];
  return `${id ?? 'key'} (${key.getFingerprint().slice(-16).toUpperCase()})`;
}

/** A bar on stderr; only ever created on a terminal, so logs and pipes get no control characters. */
async function progressBar(total: number): Promise<{ update(n: number): void; stop(): void }> {
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  const bar = new SingleBar(
    { format: 'exporting [{bar}] {percentage}% {value}/{total} events, {eta_formatted} left', stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'Export the audit trail to a file, oldest first (e.g. atom-gov export --format json --encrypt --output audit-$(date +%Y%m%d).json.gpg)',
    )
    .option('--format <format>', `output format: ${FORMATS.join(', ')} (default jsonl)`)
    .option('--output <file>', 'file to write (required); written to a temporary name and renamed when complete')
    .option('--since <time>', 'only events at or after this time (ISO 8601, UTC unless an offset is given)')
    .option('--until <time>', 'only events before this time (ISO 8601)')
    .option('--last <duration>', 'only the last period, e.g. 24h, 30d')
    .option('--tenant <tenant>', 'only events of this tenant')
    .option('--server <name>', 'only events for this MCP server')
    .option('--encrypt', 'write an OpenPGP message (gpg --decrypt opens it) to the recipients')
    .option(
      '--recipient <keyfile>',
      'OpenPGP public key file to encrypt to (repeatable; default: export.recipients in the config)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--force', 'overwrite --output if it exists')
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .option('--data-dir <dir>', 'data directory (default: ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .action(async (flags: ExportFlags) => {
      await exportCommand(flags);
    });
}
