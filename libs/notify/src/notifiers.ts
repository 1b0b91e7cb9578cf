import type { AtomGovConfig } from '@atom-gov/config';
import type { Notifier } from '@atom-gov/contracts';
import { ApprovalLinkSigner, loadLinkKey } from './approval-link.js';
import { EmailNotifier } from './email.notifier.js';
import { createSlackClient, SlackNotifier } from './slack.notifier.js';

/**
 * The channels the worker's notify activity routes to, from the config: email always (SMTP, or the outbox in
 * the embedded default), Slack when a bot token is configured.
 */
export function createNotifiers(
  config: Pick<AtomGovConfig, 'notifications'>,
  opts: { log?: (line: string) => void } = {},
): { notifiers: Notifier[]; close(): void } {
  const n = config.notifications;
  const email = new EmailNotifier({
    config: n,
    signer: new ApprovalLinkSigner(loadLinkKey(n)),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const notifiers: Notifier[] = [email];
  if (n.slack.botToken) notifiers.push(new SlackNotifier(createSlackClient(n.slack), n.slack.channels));
  return { notifiers, close: () => email.close() };
}
