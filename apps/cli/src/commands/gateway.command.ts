// `atom-gov gateway [--config FILE] [--port N] [--data-dir DIR]`: the gateway alone (production), against the
// Temporal cluster in temporal.address / TEMPORAL_ADDRESS; run `atom-gov worker` beside it.
import type { AtomGovConfig } from '@atom-gov/config';
import type { Command } from 'commander';
import { openAuditForConfig } from '../audit-access.js';
import { CliError } from '../run-cli.js';
import { installTemporalRuntime, loadRuntimeConfig, log, runUntilSignal, type RuntimeFlags } from './runtime-parts.js';

export function requireTemporalAddress(config: AtomGovConfig, command: string): string {
  if (config.temporal.address === undefined) {
    throw new CliError(
      `atom-gov ${command} runs against a Temporal cluster: set temporal.address in ${config.configPath} or TEMPORAL_ADDRESS ` +
        '(or use `atom-gov start`, which runs an embedded dev server)',
      2,
    );
  }
  return config.temporal.address;
}

export function register(program: Command): void {
  program
    .command('gateway')
    .description('Run only the gateway (MCP endpoints, /healthz) against a Temporal cluster')
    .option('--config <file>', 'configuration file (default: $ATOM_GOV_CONFIG or the seed path)')
    .option('--port <n>', 'gateway port (default: gateway.port, 8700)')
    .option('--data-dir <dir>', 'data directory (default: $ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .action(async (flags: RuntimeFlags) => {
      const config = await loadRuntimeConfig(flags);
      const temporalAddress = requireTemporalAddress(config, 'gateway');
      await installTemporalRuntime();
      const [{ auditChainOptions }, { startGateway }] = await Promise.all([
        import('@atom-gov/audit'),
        import('@atom-gov/gateway'),
      ]);
      // Redaction, encryption and the local spool (fast-path events survive a database outage) from the config.
      const audit = await openAuditForConfig(config, {
        spool: true,
        onWarning: log,
        onStateChange: (degraded, detail) => log(`audit store ${degraded ? 'degraded' : 'recovered'}: ${detail}`),
        storeOptions: auditChainOptions(config.audit),
      });
      const gateway = await startGateway({ config, temporalAddress, audit }).catch(async (error: Error) => {
        await audit.close();
        throw new CliError(`could not start the gateway: ${error.message}`);
      });
      process.stdout.write(`ATOM-GOV gateway on ${gateway.url} (Temporal ${temporalAddress})\n`);
      for (const s of config.servers) process.stdout.write(`  ${s.name}: ${gateway.url}/mcp/${s.name}\n`);
      log('press Ctrl-C to stop');
      process.exitCode = await runUntilSignal({
        parts: () => [
          { name: 'gateway', stop: () => gateway.close() },
          { name: 'audit store', stop: () => audit.close() },
        ],
      });
      process.exit();
    });
}
