// `atom-gov slackbot` as shipped (built CLI, separate process): config-driven Bolt receiver that decides through the
// suite's Temporal dev server. Needs `npm run build` (scripts/setup.sh does it before the suite).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createSlackClient, SLACK_APPROVE_ACTION, SlackNotifier } from '@atom-gov/notify';
import { type ApprovalHarness, startApprovalHarness } from './support/approval-harness.js';
import { type FakeSlackApi, startFakeSlackApi } from './support/fake-slack-api.js';

const SECRET = 'cli-signing-secret-0123456789';
let dir: string;
let slackApi: FakeSlackApi;
let harness: ApprovalHarness;
let child: ChildProcess;
let eventsUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-slackbot-'));
  slackApi = await startFakeSlackApi({ channels: [{ id: 'C0OPS', name: 'ops-channel' }], emails: {} });
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      'atom_gov:',
      `  temporal: { address: "${process.env.TEMPORAL_TEST_ADDRESS}", namespace: default }`,
      '  notifications:',
      '    slack:',
      '      bot_token: ${SLACK_BOT_TOKEN}',
      '      signing_secret: ${SLACK_SIGNING_SECRET}',
      `      api_url: ${slackApi.url}`,
      '      port: 0',
      '      users: { U0ALICE: alice@company.com }',
      '',
    ].join('\n'),
  );
  const slack = { botToken: 'xoxb-test', apiUrl: slackApi.url };
  harness = await startApprovalHarness([new SlackNotifier(createSlackClient(slack, { retries: 0 }), {})]);
  child = spawn(
    process.execPath,
    [
      resolve('apps/cli/bin/atom-gov.js'),
      'slackbot',
      '--config',
      join(dir, 'config.yaml'),
      '--data-dir',
      join(dir, 'data'),
    ],
    {
      env: { ...process.env, SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SECRET, TEMPORAL_ADDRESS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const url = /(http:\/\/\S+\/slack\/events)/.exec(line)?.[1];
    if (url) {
      eventsUrl = url;
      break;
    }
  }
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await harness?.close();
  await slackApi?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('the slackbot command verifies its token, applies a signed click through Temporal, and stops on SIGTERM', async () => {
  expect(slackApi.calls.some((c) => c.method === 'auth.test')).toBe(true);
  const op = await harness.startOperation({
    approvers: ['alice@company.com', 'bob@company.com'],
    minApprovals: 1,
    notify: ['slack://ops-channel'],
  });
  const post = await slackApi.waitFor('chat.postMessage', (c) => JSON.stringify(c.args.blocks).includes(op));
  const ts = `1700000000.${String(slackApi.calls.slice(0, slackApi.calls.indexOf(post) + 1).filter((c) => c.method === 'chat.postMessage').length).padStart(6, '0')}`;
  const value = JSON.stringify({ op, ah: 'a'.repeat(64) });
  const payload = {
    type: 'block_actions',
    user: { id: 'U0ALICE', username: 'alice', team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy',
    trigger_id: 'trigger-1',
    team: { id: 'T0TEAM', domain: 'company' },
    container: { type: 'message', message_ts: ts, channel_id: 'C0OPS', is_ephemeral: false },
    channel: { id: 'C0OPS', name: 'ops-channel' },
    message: { type: 'message', ts, text: 'Approval needed' },
    actions: [{ type: 'button', action_id: SLACK_APPROVE_ACTION, block_id: 'decision', value, action_ts: '1' }],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const now = Math.floor(Date.now() / 1000);
  const res = await fetch(eventsUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(now),
      'x-slack-signature': `v0=${createHmac('sha256', SECRET).update(`v0:${now}:${body}`).digest('hex')}`,
    },
    body,
  });
  expect(res.status).toBe(200);
  const update = await slackApi.waitFor('chat.update', (c) => c.args.ts === ts);
  expect(JSON.stringify(update.args.blocks)).toContain('Approved');
  const state = await harness.decisions.state(op);
  expect(state.decision).toBe('allow');
  expect(state.approvals[0]).toMatchObject({ approver: 'alice@company.com', channel: 'slack', via: 'slack:U0ALICE' });

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
});
