import type { Server } from 'node:http';
import type { SlackConfig } from '@atom-gov/config';
import type { DecideInput, OperationState } from '@atom-gov/contracts';
import {
  approvalUpdateBlocks,
  createSlackClient,
  type DecisionClient,
  DecisionRefusedError,
  rejectModalView,
  SLACK_APPROVE_ACTION,
  SLACK_REASON_BLOCK,
  SLACK_REASON_INPUT,
  SLACK_REJECT_ACTION,
  SLACK_REJECT_MODAL,
  type SlackButtonValue,
} from '@atom-gov/notify';
import bolt from '@slack/bolt';
import type { KnownBlock, WebClient } from '@slack/web-api';

const { App, LogLevel } = bolt;
type BoltApp = InstanceType<typeof App>;

export interface SlackbotOptions {
  slack: SlackConfig;
  decisions: DecisionClient;
  /** Known bot identity: skips the auth.test call Bolt makes at start (and lets tests run offline). */
  botId?: string;
  botUserId?: string;
  /** Web API retries (default 2; the default client policy would retry for ~30 minutes). */
  retries?: number;
  /** Overrides slack.port for the HTTP receiver; 0 picks a free port. */
  port?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface RunningSlackbot {
  /** Events URL of the HTTP receiver (undefined in Socket Mode). */
  readonly url?: string;
  readonly app: BoltApp;
  close(): Promise<void>;
}

interface ClickContext {
  userId: string;
  channel?: string;
  ts?: string;
  value: SlackButtonValue;
}

function parseValue(raw: string | undefined): SlackButtonValue | undefined {
  try {
    const v = JSON.parse(raw ?? '') as Partial<SlackButtonValue>;
    return typeof v.op === 'string' && typeof v.ah === 'string' ? { op: v.op, ah: v.ah } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Slack edge of approvals: buttons and the reject modal become `decide` Updates, and the message is updated in
 * place with the outcome. Clicks are acknowledged first (Slack's 3 s limit), the work happens after the ack.
 */
export function createSlackApprovals(opts: SlackbotOptions): BoltApp {
  const { slack, decisions } = opts;
  const socketMode = slack.socketMode;
  if (socketMode && !slack.appToken) {
    throw new Error('notifications.slack.socket_mode needs notifications.slack.app_token (xapp-...)');
  }
  if (!socketMode && !slack.signingSecret) {
    throw new Error(
      'the Slack HTTP receiver needs notifications.slack.signing_secret (Basic Information > App Credentials), ' +
        'or set socket_mode: true with an app_token',
    );
  }
  if (!slack.botToken) throw new Error('notifications.slack.bot_token (xoxb-...) is required');
  const known = opts.botId !== undefined && opts.botUserId !== undefined;
  const clientOptions = {
    ...(slack.apiUrl !== undefined
      ? { slackApiUrl: slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/` }
      : {}),
    retryConfig: { retries: opts.retries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
    timeout: 10_000,
  };
  const app = new App({
    token: slack.botToken,
    // Socket Mode opens its connection (apps.connections.open) with its own client: same API URL and retries.
    ...(socketMode ? { installerOptions: { clientOptions } } : {}),
    ...(socketMode ? { socketMode: true, appToken: slack.appToken } : { signingSecret: slack.signingSecret! }),
    ...(known ? { botId: opts.botId, botUserId: opts.botUserId, tokenVerificationEnabled: false } : {}),
    clientOptions,
    logLevel: LogLevel[(opts.logLevel ?? 'warn').toUpperCase() as 'WARN'],
  });

  const emailCache = new Map<string, string>();
  /** Configured map first, then the Slack profile email; otherwise the Slack user itself (`slack:U..`). */
  async function approverOf(client: WebClient, userId: string): Promise<string> {
    const mapped = slack.users[userId];
    if (mapped !== undefined) return mapped;
    const cached = emailCache.get(userId);
    if (cached !== undefined) return cached;
    try {
      const info = await client.users.info({ user: userId });
      const email = info.user?.profile?.email;
      if (email) {
        emailCache.set(userId, email.toLowerCase());
        return email.toLowerCase();
      }
    } catch (error) {
      app.logger.warn(`users.info ${userId} failed: ${(error as Error).message}`);
    }
    return `slack:${userId}`;
  }

  async function apply(client: WebClient, click: ClickContext, decision: DecideInput['decision'], reason?: string) {
    const approver = await approverOf(client, click.userId);
    let state: OperationState | undefined;
    let note: string | undefined;
    try {
      state = await decisions.decide(click.value.op, {
        approver,
        decision,
        ...(reason !== undefined ? { reason } : {}),
        channel: 'slack',
        via: `slack:${click.userId}`,
        argsHash: click.value.ah,
      });
      note = `${decision === 'approve' ? 'Approved' : 'Rejected'} by ${approver}${reason ? `: ${reason}` : ''}`;
    } catch (error) {
      if (!(error instanceof DecisionRefusedError)) throw error;
      note = `${approver}: not counted (${error.message})`;
      if (error.code !== 'NotFound') state = await decisions.state(click.value.op).catch(() => undefined);
    }
    if (click.channel === undefined || click.ts === undefined) return;
    if (state === undefined) {
      await client.chat.update({ channel: click.channel, ts: click.ts, text: note, blocks: [] });
      return;
    }
    await client.chat.update({
      channel: click.channel,
      ts: click.ts,
      text: note,
      blocks: approvalUpdateBlocks(state, { note }) as unknown as KnownBlock[],
    });
  }

  app.action(SLACK_APPROVE_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const value = parseValue((action as { value?: string }).value);
    if (value === undefined || body.type !== 'block_actions') return;
    await apply(
      client,
      {
        userId: body.user.id,
        ...(body.container?.channel_id
          ? { channel: body.container.channel_id as string }
          : body.channel?.id
            ? { channel: body.channel.id }
            : {}),
        ...(body.container?.message_ts
          ? { ts: body.container.message_ts as string }
          : body.message?.ts
            ? { ts: body.message.ts }
            : {}),
        value,
      },
      'approve',
    );
  });

  app.action(SLACK_REJECT_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const value = parseValue((action as { value?: string }).value);
    if (value === undefined || body.type !== 'block_actions') return;
    const channel = (body.container?.channel_id as string | undefined) ?? body.channel?.id;
    const ts = (body.container?.message_ts as string | undefined) ?? body.message?.ts;
    await client.views.open({
      trigger_id: body.trigger_id,
      view: rejectModalView({ ...value, ...(channel ? { channel } : {}), ...(ts ? { ts } : {}) }) as never,
    });
  });

  app.view(SLACK_REJECT_MODAL, async ({ ack, view, body, client }) => {
    const reason = view.state.values[SLACK_REASON_BLOCK]?.[SLACK_REASON_INPUT]?.value?.trim() ?? '';
    if (reason === '') {
      await ack({ response_action: 'errors', errors: { [SLACK_REASON_BLOCK]: 'Say why, so the requester knows.' } });
      return;
    }
    await ack();
    let meta: { op?: string; ah?: string; channel?: string; ts?: string } = {};
    try {
      meta = JSON.parse(view.private_metadata) as typeof meta;
    } catch {
      return;
    }
    if (typeof meta.op !== 'string' || typeof meta.ah !== 'string') return;
    await apply(
      client,
      {
        userId: body.user.id,
        ...(meta.channel ? { channel: meta.channel } : {}),
        ...(meta.ts ? { ts: meta.ts } : {}),
        value: { op: meta.op, ah: meta.ah },
      },
      'reject',
      reason,
    );
  });

  return app;
}

/** Starts the Slack approvals app: HTTP receiver on slack.host:port (POST /slack/events), or Socket Mode. */
export async function startSlackbot(opts: SlackbotOptions): Promise<RunningSlackbot> {
  if (opts.botId === undefined || opts.botUserId === undefined) {
    // Bolt would call auth.test itself and crash the process on failure; do it here with a message to act on.
    if (!opts.slack.botToken) throw new Error('notifications.slack.bot_token (xoxb-...) is required');
    const auth = await createSlackClient(opts.slack, { retries: opts.retries ?? 2 })
      .auth.test()
      .catch((error: Error) => {
        throw new Error(
          `Slack auth.test failed (${error.message}): check notifications.slack.bot_token and that ${opts.slack.apiUrl ?? 'https://slack.com/api/'} is reachable`,
        );
      });
    opts = {
      ...opts,
      ...(auth.bot_id ? { botId: auth.bot_id } : {}),
      ...(auth.user_id ? { botUserId: auth.user_id } : {}),
    };
  }
  const app = createSlackApprovals(opts);
  if (opts.slack.socketMode) {
    await app.start();
    return { app, close: () => app.stop() as Promise<void> };
  }
  const server = (await app.start({ port: opts.port ?? opts.slack.port, host: opts.slack.host })) as Server;
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : (opts.port ?? opts.slack.port);
  const host = opts.slack.host.includes(':') ? `[${opts.slack.host}]` : opts.slack.host;
  return {
    app,
    url: `http://${host}:${port}/slack/events`,
    close: async () => {
      await app.stop();
    },
  };
}
