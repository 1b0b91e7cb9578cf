// Socket Mode (deployments without a public URL): the Bolt app opens its connection through apps.connections.open
// on the fake Slack API, receives an interactive envelope over a local WebSocket, acks it by envelope id, and the
// click is applied to the real workflow.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createSlackClient, SLACK_APPROVE_ACTION, SlackNotifier } from '@atom-gov/notify';
import { type RunningSlackbot, startSlackbot } from '@atom-gov/slackbot';
import { type WebSocket, WebSocketServer } from 'ws';
import { type ApprovalHarness, startApprovalHarness } from './support/approval-harness.js';
import { type FakeSlackApi, startFakeSlackApi } from './support/fake-slack-api.js';

let wss: WebSocketServer;
let slackApi: FakeSlackApi;
let harness: ApprovalHarness;
let bot: RunningSlackbot;
let socket: WebSocket;

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const connected = once(wss, 'connection');
  slackApi = await startFakeSlackApi({
    channels: [{ id: 'C0OPS', name: 'ops-channel' }],
    emails: {},
    socketUrl: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`,
  });
  const slack = {
    botToken: 'xoxb-test',
    appToken: 'xapp-test',
    socketMode: true,
    host: '127.0.0.1',
    port: 0,
    apiUrl: slackApi.url,
    channels: {},
    users: { U0ALICE: 'alice@company.com' },
  };
  harness = await startApprovalHarness([new SlackNotifier(createSlackClient(slack, { retries: 0 }), {})]);
  const starting = startSlackbot({
    slack,
    decisions: harness.decisions,
    botId: 'B0BOT',
    botUserId: 'U0BOT',
    retries: 0,
  });
  [socket] = (await connected) as [WebSocket];
  socket.send(
    JSON.stringify({
      type: 'hello',
      num_connections: 1,
      connection_info: { app_id: 'A0APP' },
      debug_info: { host: 'fake' },
    }),
  );
  bot = await starting;
}, 120_000);

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  await slackApi?.close();
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
});

it('acks an interactive envelope and applies the click', async () => {
  expect(bot.url).toBeUndefined();
  const open = slackApi.calls.find((c) => c.method === 'apps.connections.open');
  expect(open).toBeDefined();
  const op = await harness.startOperation({
    approvers: ['alice@company.com'],
    minApprovals: 1,
    notify: ['slack://ops-channel'],
  });
  const ts = '1700000000.000001';
  const envelope = {
    envelope_id: 'env-1',
    type: 'interactive',
    accepts_response_payload: false,
    payload: {
      type: 'block_actions',
      user: { id: 'U0ALICE', username: 'alice', team_id: 'T0TEAM' },
      api_app_id: 'A0APP',
      token: 'legacy',
      trigger_id: 'trigger-1',
      team: { id: 'T0TEAM', domain: 'company' },
      container: { type: 'message', message_ts: ts, channel_id: 'C0OPS', is_ephemeral: false },
      channel: { id: 'C0OPS', name: 'ops-channel' },
      message: { type: 'message', ts, text: 'Approval needed' },
      actions: [
        {
          type: 'button',
          action_id: SLACK_APPROVE_ACTION,
          block_id: 'decision',
          value: JSON.stringify({ op, ah: 'a'.repeat(64) }),
          action_ts: '1',
        },
      ],
    },
  };
  const acked = new Promise<Record<string, unknown>>((resolve) =>
    socket.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      if (msg.envelope_id === 'env-1') resolve(msg);
    }),
  );
  const sentAt = performance.now();
  socket.send(JSON.stringify(envelope));
  await expect(acked).resolves.toMatchObject({ envelope_id: 'env-1' });
  const ackMs = performance.now() - sentAt;
  expect(ackMs).toBeLessThan(3_000);
  const update = await slackApi.waitFor('chat.update', (c) => c.args.ts === ts);
  expect(JSON.stringify(update.args.blocks)).toContain('Approved');
  expect((await harness.decisions.state(op)).decision).toBe('allow');
});
