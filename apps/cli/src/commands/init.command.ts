// `atom-gov init [--config FILE] [--force]`: writes a commented starter config that passes policy check.
import { resolveRuntime, StarterExistsError, writeStarterConfig } from '@atom-gov/config';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';

export interface InitOptions {
  config?: string;
  force?: boolean;
  env?: Record<string, string | undefined>;
}

/** Returns the path written; refuses to overwrite an existing file without `force`. */
export function initConfig(opts: InitOptions): string {
  const { configPath } = resolveRuntime({
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  try {
    writeStarterConfig(configPath, { force: opts.force ?? false });
  } catch (error) {
    if (error instanceof StarterExistsError) throw new CliError(error.message, 1);
    throw error;
  }
  return configPath;
}

export function register(program: Command): void {
  program
    .command('init')
    .description('Write a commented starter configuration')
    .option(
      '--config <file>',
      'where to write it (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .option('--force', 'overwrite an existing file')
    .action((opts: { config?: string; force?: boolean }) => {
      const path = initConfig(opts);
      process.stdout.write(
        `Wrote ${path}\nNext: edit its servers: list, then run \`atom-gov policy check --config ${path}\`.\n`,
      );
    });
}
