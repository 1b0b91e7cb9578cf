import type { SlackConfig } from '@atom-gov/config';
import type { NotificationRequest, NotificationResult, Notifier } from '@atom-gov/contracts';
import { type KnownBlock, WebClient } from '@slack/web-api';
import { approvalRequestBlocks, approvalUpdateBlocks, quotaAlertBlocks } from './slack-blocks.js';

/** A Web API client for the configured workspace; `apiUrl` points it elsewhere (Enterprise Grid proxies, tests). */
export function createSlackClient(
  slack: Pick<SlackConfig, 'botToken' | 'apiUrl'>,
  opts: { retries?: number } = {},
): WebClient {
  return new WebClient(slack.botToken, {
    ...(slack.apiUrl !== undefined
      ? { slackApiUrl: slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/` }
      : {}),
    // The default retry policy keeps trying for about 30 minutes; the activity has its own bounded retries.
    retryConfig: { retries: opts.retries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
    timeout: 10_000,
  });
}

/**
 * Resolves the seed's `slack://ops-channel` (and `slack://#ops`, `slack://C0123`, `slack:U0123`) to a channel id:
 * configured map first, ids as they are, then conversations.list by name (cached).
 */
export class SlackChannelResolver {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly client: WebClient,
    private readonly channels: Readonly<Record<string, string>>,
  ) {}

  async resolve(target: string): Promise<string> {
    const name = target
      .replace(/^slack:(\/\/)?/i, '')
      .replace(/^#/, '')
      .trim();
    if (name === '') throw new Error(`Slack target '${target}' names no channel; write slack://<channel-name>`);
    const mapped = this.channels[name] ?? this.channels[`#${name}`];
    if (mapped !== undefined) return mapped;
    if (/^[CGDU][A-Z0-9]{6,}$/.test(name)) return name; // already an id (U: a DM with the app)
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    let cursor: string | undefined;
    do {
      const page = await this.client.conversations.list({
        types: 'public_channel,private_channel',
        exclude_archived: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      for (const channel of page.channels ?? []) {
        if (channel.name !== undefined && channel.id !== undefined) this.cache.set(channel.name, channel.id);
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor !== undefined && !this.cache.has(name));
    const found = this.cache.get(name);
    if (found === undefined) {
      throw new Error(
        `Slack channel '${name}' not found: invite the app to it, or map it under notifications.slack.channels`,
      );
    }
    return found;
  }
}

/** Posts approval requests and outcomes to Slack channels and users. */
export class SlackNotifier implements Notifier {
  readonly name = 'slack';
  readonly schemes = ['slack'] as const;
  private readonly resolver: SlackChannelResolver;

  constructor(
    private readonly client: WebClient,
    channels: Readonly<Record<string, string>>,
  ) {
    this.resolver = new SlackChannelResolver(client, channels);
  }

  async send(request: NotificationRequest): Promise<NotificationResult> {
    const channel = await this.resolver.resolve(request.target);
    const asksForDecision =
      request.kind === 'approval_requested' ||
      request.kind === 'approval_reminder' ||
      request.kind === 'approval_escalated';
    const blocks =
      request.kind === 'quota_alert'
        ? quotaAlertBlocks(request)
        : asksForDecision && !request.state.closed
          ? approvalRequestBlocks(request.state)
          : approvalUpdateBlocks(request.state);
    const posted = await this.client.chat.postMessage({
      channel,
      text: request.text, // notification and screen-reader fallback
      blocks: blocks as unknown as KnownBlock[],
      unfurl_links: false,
      unfurl_media: false,
    });
    return { delivered: true, ref: `${posted.channel ?? channel}/${posted.ts ?? ''}` };
  }
}
