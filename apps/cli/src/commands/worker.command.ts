// `atom-gov worker [--config FILE] [--data-dir DIR]`: the Temporal worker alone (production), polling the
// config's task queue on the cluster in temporal.address / TEMPORAL_ADDRESS.
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';
import { requireTemporalAddress } from './gateway.command.js';
import { installTemporalRuntime, loadRuntimeConfig, log, runUntilSignal, type RuntimeFlags } from './runtime-parts.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run only the Temporal worker (workflows and activities) against a Temporal cluster')
    .option('--config <file>', 'configuration file (default: $ATOM_GOV_CONFIG or the seed path)')
    .option('--data-dir <dir>', 'data directory (default: $ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .action(async (flags: RuntimeFlags) => {
      const config = await loadRuntimeConfig(flags);
      const temporalAddress = requireTemporalAddress(config, 'worker');
      await installTemporalRuntime();
      const { startWorker } = await import('@atom-gov/worker');
      const worker = await startWorker({
        config,
        temporalAddress,
        bundleCacheDir: join(config.dataDir, 'cache'),
        notifiers: (await import('@atom-gov/notify')).createNotifiers(config, { log }).notifiers,
      }).catch((error: Error) => {
        throw new CliError(`could not start the worker: ${error.message}`);
      });
      process.stdout.write(
        `ATOM-GOV worker ${worker.identity} polling '${worker.taskQueue}' on ${temporalAddress} (namespace ${config.temporal.namespace})\n`,
      );
      log('press Ctrl-C to stop');
      const failed = worker.done.then(
        () => 'the worker stopped',
        (error: Error) => `the worker failed: ${error.message}`,
      );
      process.exitCode = await runUntilSignal({
        parts: () => [{ name: 'worker', stop: () => worker.shutdown() }],
        failed,
      });
      process.exit();
    });
}
