export { CliError, runCli } from './run-cli.js';
