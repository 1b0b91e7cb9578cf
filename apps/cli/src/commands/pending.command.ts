// `atom-gov pending [--tenant T] [--format table|json]`: operations waiting for approval (Temporal visibility).
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';
import {
  connectGovernance,
  describeOperation,
  EXIT,
  governanceExit,
  isGovernanceError,
  resolveOperator,
} from './governance-cli.js';
import { loadRuntimeConfig } from './runtime-parts.js';

export function register(program: Command): void {
  program
    .command('pending')
    .description('list governed operations waiting for approval')
    .option('--config <file>', 'configuration file')
    .option('--data-dir <dir>', 'data directory')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--api-key <key>', 'operator API key (or ATOM_GOV_API_KEY)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { config?: string; dataDir?: string; tenant?: string; apiKey?: string; format: string }) => {
      if (!['text', 'json'].includes(opts.format))
        throw new CliError(`--format must be text or json, got '${opts.format}'`, EXIT.usage);
      const config = await loadRuntimeConfig({ config: opts.config, dataDir: opts.dataDir });
      const operator = resolveOperator(config, opts.apiKey);
      // A tenant-bound key sees its own tenant only.
      if (operator.tenant !== undefined && opts.tenant !== undefined && opts.tenant !== operator.tenant)
        throw new CliError(`this API key belongs to tenant ${operator.tenant}, not ${opts.tenant}`, EXIT.unauthorised);
      const tenant = opts.tenant ?? operator.tenant;
      const gc = await connectGovernance(config);
      try {
        const pending = await gc.listPending(tenant !== undefined ? { tenant } : {});
        if (opts.format === 'json') {
          process.stdout.write(
            `${JSON.stringify(
              pending.map((p) => p.state),
              null,
              2,
            )}\n`,
          );
        } else if (pending.length === 0) {
          process.stdout.write(`no operations waiting for approval${tenant ? ` in tenant ${tenant}` : ''}\n`);
        } else {
          process.stdout.write(`${pending.map((p) => describeOperation(p.state)).join('\n\n')}\n`);
        }
      } catch (error) {
        if (isGovernanceError(error)) throw governanceExit(error);
        throw error;
      } finally {
        await gc.close();
      }
    });
}
