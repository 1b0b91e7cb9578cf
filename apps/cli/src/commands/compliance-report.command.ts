// `atom-gov compliance-report [--format pdf|html|json|md] [--period month|2026-10|...] [--tenant T]
//  [--framework soc2|hipaa|gdpr] [--output FILE] [--public-key FILE]`: evidence of the governance controls for a
// period, from the audit trail and the configuration, as in the seed's `atom-gov compliance-report --format pdf`.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import type { AuditEventStream } from '@atom-gov/audit';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';
import {
  asCli,
  loadReportConfig,
  nonEmpty,
  openReportStore,
  processIo,
  type ReportFlags,
  type ReportIo,
} from './report-support.js';

export interface ComplianceFlags extends ReportFlags {
  format?: string;
  period?: string;
  tenant?: string;
  framework?: string;
  output?: string;
  publicKey?: string;
}

const EXTENSIONS = { pdf: 'pdf', html: 'html', json: 'json', md: 'md' } as const;

export async function complianceReportCommand(
  flags: ComplianceFlags,
  io: ReportIo = processIo,
  env?: Record<string, string | undefined>,
  now: Date = new Date(),
): Promise<void> {
  const reports = await import('@atom-gov/reports');
  const { format, period, framework } = await asCli(() =>
    Promise.resolve({
      format: reports.parseReportFormat(flags.format),
      period: reports.parsePeriod(flags.period ?? 'month', now),
      framework: reports.parseFramework(flags.framework),
    }),
  );
  const tenant = nonEmpty('--tenant', flags.tenant);
  const config = await loadReportConfig(flags, env);
  const publicKey = await checkpointKey(flags.publicKey, config.audit.signingKey);
  const store = await openReportStore(config, env);
  if (!store) io.stderr(`No audit database at ${config.database.sqlitePath} yet: the report covers no events.\n`);
  let body: Buffer;
  try {
    const source = store ?? { stream: () => emptyStream() };
    const report = await reports.buildComplianceReport(
      {
        stream: (filter, opts) => source.stream(filter, opts),
        ...(store
          ? { verify: (o?: { tenant?: string }) => store.verify({ ...o, ...(publicKey ? { publicKey } : {}) }) }
          : {}),
      },
      { config, period, now, ...(tenant !== undefined ? { tenant } : {}), ...(framework ? { framework } : {}) },
    );
    body = await reports.renderComplianceReport(report, format);
  } finally {
    await store?.close();
  }
  // PDF is binary: without --output it goes to a file named after the period rather than into the terminal.
  const output =
    flags.output ??
    (format === 'pdf'
      ? `atom-gov-compliance-${period.label === 'month' ? period.since.toISOString().slice(0, 7) : period.label}.${EXTENSIONS[format]}`
      : '-');
  if (output === '-') {
    io.stdout(body);
    return;
  }
  await writeFile(output, body);
  io.stderr(`Wrote the ${format.toUpperCase()} compliance report for ${reports.describePeriod(period)} to ${output}\n`);
}

function emptyStream(): AuditEventStream {
  return {
    count: () => Promise.resolve(0),
    async *[Symbol.asyncIterator]() {},
  };
}

/** --public-key, else the configured checkpoint signing key when it is readable here. */
async function checkpointKey(flag: string | undefined, signingKey: string): Promise<KeyObject | undefined> {
  const path = flag ?? (existsSync(signingKey) ? signingKey : undefined);
  if (path === undefined) return undefined;
  const { loadPublicKey } = await import('@atom-gov/audit');
  try {
    return loadPublicKey(path);
  } catch (error) {
    throw new CliError(`--public-key: ${(error as Error).message}`, 2);
  }
}

export function register(program: Command): void {
  program
    .command('compliance-report')
    .description(
      'Compliance evidence for a period: policies, approvals, denials, limits, PII, integrity, retention, tenants (e.g. atom-gov compliance-report --format pdf)',
    )
    .option('--format <format>', 'pdf, html, json or md (default pdf)')
    .option(
      '--period <period>',
      'month, week or day (the current one, UTC), or a month such as 2026-10 (default month)',
    )
    .option('--tenant <tenant>', 'only this tenant')
    .option('--framework <framework>', 'map the findings to soc2, hipaa or gdpr controls')
    .option(
      '--output <file>',
      'file to write; - for stdout (default: stdout, or atom-gov-compliance-<period>.pdf for PDF)',
    )
    .option(
      '--public-key <file>',
      'checkpoint public key to verify the audit chain with (default: the configured signing key)',
    )
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .option('--data-dir <dir>', 'data directory (default: ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .action(async (flags: ComplianceFlags) => {
      await complianceReportCommand(flags);
    });
}
