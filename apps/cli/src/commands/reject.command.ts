// `atom-gov reject --operation op-... --approver bob@company.com --reason TEXT`.
import type { Command } from 'commander';
import { decideFromCli } from './approve.command.js';

export function register(program: Command): void {
  program
    .command('reject')
    .description('reject a governed operation waiting for approval')
    .requiredOption('--operation <id>', 'operation id (op-...)')
    .option('--approver <address>', 'whose decision this is (an approver of the operation)')
    .option('--reason <text>', 'why (required: the requester is told)')
    .option('--api-key <key>', 'operator API key (or ATOM_GOV_API_KEY)')
    .option('--config <file>', 'configuration file')
    .option('--data-dir <dir>', 'data directory')
    .action(async (opts: Parameters<typeof decideFromCli>[1]) => {
      process.stdout.write(`${await decideFromCli('reject', opts)}\n`);
    });
}
