// The `atom-gov` command. Each command lives in commands/<name>.command.ts and registers itself here;
// commands parse input, call one service from a lib or app, and render the output.
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { runCli } from './run-cli.js';

const program = new Command('atom-gov')
  .description('Governance gateway for Model Context Protocol servers')
  .version('0.1.0')
  .showHelpAfterError();
registerCommands(program);
await runCli(program, process.argv);
