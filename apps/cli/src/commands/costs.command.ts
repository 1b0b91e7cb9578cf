// `atom-gov costs [--server S] [--tenant T] [--period day|week|month|2026-10] [--format table|csv|json]`: the
// chargeback per tenant, server and tool under the config's `costs:` model, as in the seed's
// `atom-gov costs --server perplexity_mcp --period month`.
import type { Command } from 'commander';
import {
  asCli,
  loadReportConfig,
  nonEmpty,
  openReportStore,
  processIo,
  type ReportFlags,
  type ReportIo,
} from './report-support.js';

export interface CostsFlags extends ReportFlags {
  server?: string;
  tenant?: string;
  period?: string;
  format?: string;
}

export async function costsCommand(
  flags: CostsFlags,
  io: ReportIo = processIo,
  env?: Record<string, string | undefined>,
  now: Date = new Date(),
): Promise<void> {
  const reports = await import('@atom-gov/reports');
  const { period, format } = await asCli(() =>
    Promise.resolve({
      period: reports.parsePeriod(flags.period ?? 'month', now),
      format: reports.parseCostFormat(flags.format),
    }),
  );
  const server = nonEmpty('--server', flags.server);
  const tenant = nonEmpty('--tenant', flags.tenant);
  const config = await loadReportConfig(flags, env);
  if (server !== undefined && !config.servers.some((s) => s.name === server)) {
    io.stderr(
      `warning: no server named '${server}' in ${config.configPath} (configured: ${config.servers.map((s) => s.name).join(', ') || 'none'}); showing its recorded events, if any\n`,
    );
  }
  if (Object.keys(config.costs.servers).length === 0 && Object.values(config.costs.default).every((v) => v === 0)) {
    io.stderr(`note: ${config.configPath} has no costs: block, so every call costs 0 (see the config README)\n`);
  }
  const filter = { ...(server !== undefined ? { server } : {}), ...(tenant !== undefined ? { tenant } : {}) };
  const store = await openReportStore(config, env);
  try {
    const events = store?.stream({ ...filter, since: period.since, until: period.until }, { batchSize: 2000 });
    const report = events
      ? await reports.computeCosts(events, config.costs, period, filter)
      : new reports.CostAccumulator(config.costs).result(period, filter);
    io.stdout(reports.renderCosts(report, format));
  } finally {
    await store?.close();
  }
}

export function register(program: Command): void {
  program
    .command('costs')
    .description('Chargeback per tenant, server and tool (e.g. atom-gov costs --server perplexity_mcp --period month)')
    .option('--server <name>', 'only this MCP server')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--period <period>', 'day, week or month (the current one, UTC), or 2026-10 / 2026-10-31 (default month)')
    .option('--format <format>', 'table, csv or json (default table)')
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .option('--data-dir <dir>', 'data directory (default: ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .action(async (flags: CostsFlags) => {
      await costsCommand(flags);
    });
}
