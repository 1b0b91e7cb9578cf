import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { checkSlackSignature, clickOf, type SlackRefusalAudit, slackRefusalEvent } from './slack-refusals.js';

const { App, HTTPReceiver, HTTPModuleFunctions, LogLevel } = bolt;
type BoltApp = InstanceType<typeof App>;
type BoltReceiver = InstanceType<typeof HTTPReceiver>;

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
  /** Refused requests and votes are audited here (startSlackbotFromConfig opens the configured audit store). */
  audit?: SlackRefusalAudit;
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
  return createApp(opts).app;
}

function createApp(opts: SlackbotOptions): { app: BoltApp; receiver?: BoltReceiver } {
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
  const logLevel = LogLevel[(opts.logLevel ?? 'warn').toUpperCase() as 'WARN'];
  // HTTP: our own receiver instance, so that startSlackbot can put the audited signature check in front of it.
  const receiver = socketMode ? undefined : new HTTPReceiver({ signingSecret: slack.signingSecret!, logLevel });
  const app = new App({
    token: slack.botToken,
    // Socket Mode opens its connection (apps.connections.open) with its own client: same API URL and retries.
    ...(socketMode ? { installerOptions: { clientOptions } } : {}),
    ...(socketMode ? { socketMode: true, appToken: slack.appToken } : { receiver: receiver! }),
    ...(known ? { botId: opts.botId, botUserId: opts.botUserId, tokenVerificationEnabled: false } : {}),
    clientOptions,
    logLevel,
  });

  /** One audit event per refusal; an audit write that fails is logged (the refusal itself stands). */
  const audited = (refusal: Parameters<typeof slackRefusalEvent>[1]): Promise<void> =>
    opts.audit
      ? opts.audit.store
          .append(slackRefusalEvent(opts.audit, refusal))
          .catch((error: unknown) => app.logger.error(`could not audit a refused Slack request: ${String(error)}`))
      : Promise.resolve();

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
      await audited({
        reason: `${decision} refused [${error.code}]: ${error.message}`,
        ...(state ? { tenant: state.tenant } : {}),
        operationId: click.value.op,
        user: approver,
        via: `slack:${click.userId}`,
      });
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

  return { app, ...(receiver ? { receiver } : {}) };
}

/**
 * The HTTP front of the receiver: checks the request signature itself (Bolt's verifySlackRequest) so that a forged
 * or stale request is audited, then hands authentic requests (body already buffered, which Bolt reuses) to Bolt,
 * which verifies again and dispatches.
 */
function guardedListener(
  receiver: BoltReceiver,
  signingSecret: string,
  onRefused: (req: IncomingMessage, body: string, reason: string, authentic: boolean) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/slack/events') {
        receiver.requestListener(req, res);
        return;
      }
      let body: string;
      try {
        body = (
          await HTTPModuleFunctions.bufferIncomingMessage(req, HTTPModuleFunctions.defaultBodyLimit)
        ).rawBody.toString('utf8');
      } catch {
        res.writeHead(413).end();
        return;
      }
      const sslCheck =
        (req.headers['content-type'] ?? '') === 'application/x-www-form-urlencoded' &&
        new URLSearchParams(body).get('ssl_check') === '1';
      const check = sslCheck ? { ok: true as const } : checkSlackSignature(req, body, signingSecret);
      if (!check.ok) {
        await onRefused(req, body, check.reason, check.authentic);
        res.writeHead(401).end();
        return;
      }
      receiver.requestListener(req, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
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
  const { app, receiver } = createApp(opts);
  if (opts.slack.socketMode || !receiver) {
    await app.start();
    return { app, close: () => app.stop() as Promise<void> };
  }
  const audit = opts.audit;
  const server: Server = createServer(
    guardedListener(receiver, opts.slack.signingSecret!, async (req, body, reason, authentic) => {
      if (!audit) return;
      // Only an authentic (signed, if stale) body is trusted to name an operation and a Slack user.
      const click = authentic ? clickOf(body) : {};
      const tenant =
        click.operationId !== undefined
          ? await opts.decisions
              .state(click.operationId)
              .then((s) => s.tenant)
              .catch(() => undefined)
          : undefined;
      await audit.store
        .append(
          slackRefusalEvent(audit, {
            reason: `${reason}; from ${req.socket.remoteAddress ?? 'unknown address'}`,
            ...(tenant !== undefined ? { tenant } : {}),
            ...(click.operationId !== undefined ? { operationId: click.operationId } : {}),
            ...(click.userId !== undefined ? { user: `slack:${click.userId}`, via: `slack:${click.userId}` } : {}),
            requestBytes: Buffer.byteLength(body),
          }),
        )
        .catch((error: unknown) => app.logger.error(`could not audit a refused Slack request: ${String(error)}`));
    }),
  );
  server.listen(opts.port ?? opts.slack.port, opts.slack.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
  const { port } = server.address() as AddressInfo;
  const host = opts.slack.host.includes(':') ? `[${opts.slack.host}]` : opts.slack.host;
  return {
    app,
    url: `http://${host}:${port}/slack/events`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
