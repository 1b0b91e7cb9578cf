// `atom-gov slackbot [--config FILE] [--port N]`: the Slack approvals app (Bolt) against a Temporal cluster:
// HTTP receiver at notifications.slack.host:port/slack/events, or Socket Mode (notifications.slack.socket_mode).
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';
import { requireTemporalAddress } from './gateway.command.js';
import { loadRuntimeConfig, log, parsePort, runUntilSignal, type RuntimeFlags } from './runtime-parts.js';

export function register(program: Command): void {
  program
    .command('slackbot')
    .description('Run the Slack approvals app (Approve / Reject buttons become decisions on governed operations)')
    .option('--config <file>', 'configuration file (default: $ATOM_GOV_CONFIG or the seed path)')
    .option('--data-dir <dir>', 'data directory (default: $ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .option('--port <port>', 'HTTP receiver port (default: notifications.slack.port, 3000)')
    .action(async (flags: RuntimeFlags) => {
      const port = parsePort(flags.port, '--port');
      const config = await loadRuntimeConfig({ ...flags, port: undefined });
      const temporalAddress = requireTemporalAddress(config, 'slackbot');
      const { startSlackbotFromConfig } = await import('@atom-gov/slackbot');
      const bot = await startSlackbotFromConfig({
        config,
        temporalAddress,
        ...(port !== undefined ? { port } : {}),
      }).catch((error: Error) => {
        throw new CliError(`could not start the Slack app: ${error.message}`, 2);
      });
      process.stdout.write(
        bot.url !== undefined
          ? `ATOM-GOV slackbot: Slack request URL ${bot.url} (Interactivity & Shortcuts)\n`
          : 'ATOM-GOV slackbot connected in Socket Mode\n',
      );
      log('press Ctrl-C to stop');
      process.exitCode = await runUntilSignal({ parts: () => [{ name: 'slackbot', stop: () => bot.close() }] });
      process.exit();
    });
}
