// `atom-gov policy check [--config FILE]`: validates the config and every policy file it includes.
import { checkConfig, formatIssues } from '@atom-gov/config';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';

export interface PolicyCheckOptions {
  config?: string;
  env?: Record<string, string | undefined>;
}

export interface CommandOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processOutput: CommandOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Prints OK (and any warnings) or every issue; returns the exit code (0 valid, 1 invalid). */
export async function policyCheck(opts: PolicyCheckOptions, out: CommandOutput = processOutput): Promise<number> {
  const result = await checkConfig({
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  if (result.ok) {
    out.stdout(`${result.summary}\n`);
    if (result.warnings.length > 0) out.stderr(`${formatIssues(result.warnings)}\n`);
    return 0;
  }
  out.stderr(`${formatIssues(result.issues)}\n`);
  return 1;
}

export function register(program: Command): void {
  const policy = program.command('policy').description('Work with governance policies');
  policy
    .command('check')
    .description('Validate the configuration and every policy file it includes')
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .action(async (opts: { config?: string }) => {
      const code = await policyCheck(opts);
      if (code !== 0) throw new CliError('the configuration is not valid (see the errors above)', code);
    });
}
