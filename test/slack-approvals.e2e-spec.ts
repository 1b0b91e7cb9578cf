// Slack approvals end to end: the real governed-operation workflow on the suite's Temporal dev server posts its
// request through SlackNotifier to a local fake of the Slack Web API; signed block_actions posts to the Bolt HTTP
// receiver become `decide` Updates; the message is updated in place.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditEvent, type AuditStore, openAuditStore } from '@atom-gov/audit';
import type { SlackConfig } from '@atom-gov/config';
import {
  createSlackClient,
  SLACK_APPROVE_ACTION,
  SLACK_REJECT_ACTION,
  SLACK_REJECT_MODAL,
  SlackNotifier,
} from '@atom-gov/notify';
import { type RunningSlackbot, startSlackbot } from '@atom-gov/slackbot';
import { type ApprovalHarness, startApprovalHarness } from './support/approval-harness.js';
import { type FakeSlackApi, startFakeSlackApi } from './support/fake-slack-api.js';

const SECRET = 'test-signing-secret-0123456789abcdef';
const APPROVERS = ['alice@company.com', 'bob@company.com', 'carol@company.com'];

let slackApi: FakeSlackApi;
let harness: ApprovalHarness;
let bot: RunningSlackbot;
let dir: string;
let audit: AuditStore;
const CONFIG_VERSION = 'c'.repeat(64);

function sign(body: string, ts = Math.floor(Date.now() / 1000), secret = SECRET): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': signature,
  };
}

function payloadBody(payload: unknown): string {
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

interface Posted {
  channel: string;
  ts: string;
  value: string;
}

/** The approval request message the workflow posted for `operationId`, with its button value. */
async function postedRequest(operationId: string): Promise<Posted> {
  const call = await slackApi.waitFor('chat.postMessage', (c) =>
    JSON.stringify(c.args.blocks ?? '').includes(operationId),
  );
  const blocks = call.args.blocks as Array<{ type: string; elements?: Array<{ action_id?: string; value?: string }> }>;
  const value = blocks
    .find((b) => b.type === 'actions')!
    .elements!.find((e) => e.action_id === SLACK_APPROVE_ACTION)!.value!;
  const reply = slackApi.calls.indexOf(call); // ts assigned in call order
  return { channel: String(call.args.channel), ts: `1700000000.${String(tsIndex(reply)).padStart(6, '0')}`, value };
}
function tsIndex(callIndex: number): number {
  return slackApi.calls.slice(0, callIndex + 1).filter((c) => c.method === 'chat.postMessage').length;
}

function blockActions(user: string, posted: Posted, actionId: string) {
  return {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    trigger_id: `trigger-${user}-${Date.now()}`,
    team: { id: 'T0TEAM', domain: 'company' },
    container: { type: 'message', message_ts: posted.ts, channel_id: posted.channel, is_ephemeral: false },
    channel: { id: posted.channel, name: 'ops-channel' },
    message: { type: 'message', ts: posted.ts, text: 'Approval needed' },
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: 'decision',
        value: posted.value,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
}

async function click(user: string, posted: Posted, actionId = SLACK_APPROVE_ACTION, headers?: Record<string, string>) {
  const body = payloadBody(blockActions(user, posted, actionId));
  const started = performance.now();
  const res = await fetch(bot.url!, { method: 'POST', headers: headers ?? sign(body), body });
  return { status: res.status, ackMs: performance.now() - started, started };
}

beforeAll(async () => {
  slackApi = await startFakeSlackApi({
    channels: [
      { id: 'C0GENERAL', name: 'general' },
      { id: 'C0OPS', name: 'ops-channel' },
    ],
    emails: { U0BOB: 'Bob@Company.com' },
  });
  const slack: SlackConfig = {
    botToken: 'xoxb-test',
    signingSecret: SECRET,
    socketMode: false,
    host: '127.0.0.1',
    port: 0,
    apiUrl: slackApi.url,
    channels: {}, // slack://ops-channel is resolved by name through conversations.list
    users: { U0ALICE: 'alice@company.com', U0DEV: 'dev@company.com' },
  };
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-slack-'));
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  harness = await startApprovalHarness([new SlackNotifier(createSlackClient(slack, { retries: 0 }), slack.channels)]);
  bot = await startSlackbot({
    slack,
    decisions: harness.decisions,
    botId: 'B0BOT',
    botUserId: 'U0BOT',
    retries: 0,
    port: 0,
    audit: { store: audit, defaultTenant: 'default', configVersion: CONFIG_VERSION },
  });
}, 120_000);

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  await slackApi?.close();
  await audit?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The Slack edge's refusal records since `since` (the bot audits after answering: wait for `count`). */
async function slackRefusals(since: Date, count: number): Promise<AuditEvent[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = (await audit.query({ server: 'approvals', since })).filter(
      (e) => e.intent === 'slack approval refused',
    );
    if (rows.length >= count || Date.now() > deadline) return rows.reverse();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Slack approvals through the real workflow', () => {
  it('posts the request to slack://ops-channel with context and buttons', async () => {
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2, notify: ['slack://ops-channel'] });
    const posted = await postedRequest(op);
    expect(posted.channel).toBe('C0OPS');
    const call = slackApi.calls.find(
      (c) => c.method === 'chat.postMessage' && JSON.stringify(c.args.blocks).includes(op),
    )!;
    const text = JSON.stringify(call.args.blocks);
    for (const part of [
      'workers.deploy',
      'cloudflare_mcp',
      'production_deploys',
      'api-worker',
      '[EMAIL]',
      '0 of 2',
      'Deadline',
    ]) {
      expect(text).toContain(part);
    }
    expect(text).toContain(SLACK_REJECT_ACTION);
    expect(JSON.parse(posted.value)).toEqual({ op, ah: 'a'.repeat(64) });
  });

  it('applies a click, counts a duplicate once, updates the message, and approves with the second approver', async () => {
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2, notify: ['slack://ops-channel'] });
    const posted = await postedRequest(op);
    const updatesBefore = slackApi.calls.filter((c) => c.method === 'chat.update').length;

    const first = await click('U0ALICE', posted);
    expect(first.status).toBe(200);
    expect(first.ackMs).toBeLessThan(3_000);
    const update1 = await slackApi.waitFor(
      'chat.update',
      (c) => c.args.ts === posted.ts && String(c.args.text).includes('alice@company.com'),
    );
    const clickToUpdateMs = update1.at - first.started;
    let state = await harness.decisions.state(op);
    expect(state.approvals.map((v) => [v.approver, v.channel, v.via])).toEqual([
      ['alice@company.com', 'slack', 'slack:U0ALICE'],
    ]);
    expect(JSON.stringify(update1.args.blocks)).toContain('1 of 2');

    const dup = await click('U0ALICE', posted);
    expect(dup.status).toBe(200);
    const update2 = await slackApi.waitFor(
      'chat.update',
      (c) => c.args.ts === posted.ts && String(c.args.text).includes('not counted'),
    );
    expect(String(update2.args.text)).toMatch(/already/i);
    state = await harness.decisions.state(op);
    expect(state.approvals).toHaveLength(1);

    // Bob is not in the configured map: his identity comes from the users.info profile email.
    const second = await click('U0BOB', posted);
    expect(second.status).toBe(200);
    const update3 = await slackApi.waitFor(
      'chat.update',
      (c) => c.args.ts === posted.ts && String(c.args.text).includes('bob@company.com'),
    );
    expect(JSON.stringify(update3.args.blocks)).toContain('Approved');
    expect(JSON.stringify(update3.args.blocks)).not.toContain(SLACK_APPROVE_ACTION); // buttons gone once decided
    state = await harness.decisions.state(op);
    expect(state.decision).toBe('allow');
    expect(state.approvals.map((v) => v.approver)).toEqual(['alice@company.com', 'bob@company.com']);
    expect(slackApi.calls.filter((c) => c.method === 'chat.update').length - updatesBefore).toBe(3);
    expect(slackApi.calls.some((c) => c.method === 'users.info' && c.args.user === 'U0BOB')).toBe(true);
    process.stderr.write(
      `[slack] ack ${first.ackMs.toFixed(1)} ms; click-to-update ${clickToUpdateMs.toFixed(1)} ms\n`,
    );
  });

  it('refuses a forged signature and a stale timestamp without deciding, and audits each refusal', async () => {
    const since = new Date();
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2, notify: ['slack://ops-channel'] });
    const posted = await postedRequest(op);
    const body = payloadBody(blockActions('U0ALICE', posted, SLACK_APPROVE_ACTION));
    const forged = await fetch(bot.url!, { method: 'POST', headers: sign(body, undefined, 'not-the-secret'), body });
    expect(forged.status).toBe(401);
    const stale = await fetch(bot.url!, {
      method: 'POST',
      headers: sign(body, Math.floor(Date.now() / 1000) - 6 * 60),
      body,
    });
    expect(stale.status).toBe(401);
    const unsigned = await fetch(bot.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(unsigned.status).toBe(401);
    const state = await harness.decisions.state(op);
    expect(state.approvals).toEqual([]);
    expect(slackApi.calls.some((c) => c.method === 'chat.update' && c.args.ts === posted.ts)).toBe(false);

    const [forgedRow, staleRow, unsignedRow] = await slackRefusals(since, 3);
    // Forged: nothing in the body is trusted (no operation, no user); the tenant is the anonymous one.
    expect(forgedRow).toMatchObject({
      tenant: 'default',
      user: 'unknown',
      server: 'approvals',
      method: 'approvals/decide',
      decision: 'deny',
      outcome: 'denied',
      configVersion: CONFIG_VERSION,
      notes: ['channel: slack'],
    });
    expect(forgedRow!.operationId).toBeUndefined();
    expect(forgedRow!.errorMessage).toMatch(/^forged Slack signature \(signature mismatch\); from 127\.0\.0\.1/);
    // Stale: signed with our secret, only too old (a replay): the operation it names and its tenant are known.
    expect(staleRow).toMatchObject({
      tenant: 'acme',
      user: 'slack:U0ALICE',
      operationId: op,
      target: op,
      outcome: 'denied',
      notes: ['channel: slack', 'via: slack:U0ALICE'],
    });
    expect(staleRow!.errorMessage).toMatch(/^stale Slack request: signed 3\d\d s ago/);
    expect(unsignedRow!.errorMessage).toMatch(/^missing Slack signature headers/);
    // Never the signature or the secret.
    const stored = JSON.stringify([forgedRow, staleRow, unsignedRow]);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toMatch(/v0=[0-9a-f]{64}/);
  });

  it('audits each refused vote: unknown approver, self-approval, duplicate, after close', async () => {
    const since = new Date();
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2, notify: ['slack://ops-channel'] });
    const posted = await postedRequest(op);
    let updates = slackApi.calls.filter((c) => c.method === 'chat.update' && c.args.ts === posted.ts).length;
    /** Clicks and waits for the message update it causes (refusals are audited before the update). */
    const clickAndWait = async (user: string, needle: string) => {
      expect((await click(user, posted)).status).toBe(200);
      const n = ++updates;
      const update = await slackApi.waitFor(
        'chat.update',
        (c) =>
          c.args.ts === posted.ts &&
          slackApi.calls.filter((x) => x.method === 'chat.update' && x.args.ts === posted.ts).indexOf(c) === n - 1,
      );
      expect(String(update.args.text)).toContain(needle);
    };

    // U0MALLORY has no mapping and no profile email: slack:U0MALLORY is not an approver.
    await clickAndWait('U0MALLORY', 'slack:U0MALLORY: not counted');
    // U0DEV maps to dev@company.com, who requested the operation.
    await clickAndWait('U0DEV', 'dev@company.com: not counted');
    await clickAndWait('U0ALICE', 'Approved by alice@company.com');
    await clickAndWait('U0ALICE', 'alice@company.com: not counted');
    await clickAndWait('U0BOB', 'Approved by bob@company.com');
    await clickAndWait('U0ALICE', 'alice@company.com: not counted');

    const rows = await slackRefusals(since, 4);
    expect(rows.map((r) => [r.user, /\[(\w+)\]/.exec(r.errorMessage ?? '')?.[1]])).toEqual([
      ['slack:U0MALLORY', 'UnknownApprover'],
      ['dev@company.com', 'SelfApproval'],
      ['alice@company.com', 'DuplicateVote'],
      ['alice@company.com', 'OperationClosed'],
    ]);
    for (const r of rows) {
      expect(r).toMatchObject({ tenant: 'acme', operationId: op, target: op, decision: 'deny', outcome: 'denied' });
      expect(r.notes).toEqual(['channel: slack', expect.stringMatching(/^via: slack:U0/)]);
    }
    const state = await harness.decisions.state(op);
    expect(state.approvals.map((v) => v.approver)).toEqual(['alice@company.com', 'bob@company.com']);
  });

  it('Reject opens a modal; its reason denies the operation and the message says why', async () => {
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2, notify: ['slack://ops-channel'] });
    const posted = await postedRequest(op);
    const res = await click('U0ALICE', posted, SLACK_REJECT_ACTION);
    expect(res.status).toBe(200);
    const opened = await slackApi.waitFor('views.open', (c) => JSON.stringify(c.args.view).includes(op));
    const view = opened.args.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(SLACK_REJECT_MODAL);

    const submission = {
      type: 'view_submission',
      user: { id: 'U0ALICE', username: 'alice', team_id: 'T0TEAM' },
      api_app_id: 'A0APP',
      token: 'legacy-verification-token',
      trigger_id: 'trigger-submit',
      team: { id: 'T0TEAM', domain: 'company' },
      view: {
        id: 'V0VIEW',
        type: 'modal',
        callback_id: view.callback_id,
        private_metadata: view.private_metadata,
        state: {
          values: { reason: { reason_input: { type: 'plain_text_input', value: 'change freeze until Monday' } } },
        },
      },
    };
    const body = payloadBody(submission);
    const submitted = await fetch(bot.url!, { method: 'POST', headers: sign(body), body });
    expect(submitted.status).toBe(200);
    const update = await slackApi.waitFor('chat.update', (c) => c.args.ts === posted.ts);
    expect(JSON.stringify(update.args.blocks)).toContain('Denied');
    expect(JSON.stringify(update.args.blocks)).toContain('change freeze until Monday');
    const state = await harness.decisions.state(op);
    expect(state.decision).toBe('deny');
    expect(state.rejections[0]).toMatchObject({
      approver: 'alice@company.com',
      reason: 'change freeze until Monday',
      channel: 'slack',
    });
  });
});
