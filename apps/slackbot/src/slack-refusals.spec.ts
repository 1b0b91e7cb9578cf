import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { checkSlackSignature, clickOf, slackRefusalEvent } from './slack-refusals.js';

const SECRET = 'spec-signing-secret';
const OP = 'op-0123456789abcdef0123';
const body = `payload=${encodeURIComponent(
  JSON.stringify({ user: { id: 'U0ALICE' }, actions: [{ value: JSON.stringify({ op: OP, ah: 'a'.repeat(64) }) }] }),
)}`;

function request(ts: number, secret = SECRET, text = body): IncomingMessage {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${text}`).digest('hex')}`;
  return {
    headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(ts) },
  } as unknown as IncomingMessage;
}

const now = () => Math.floor(Date.now() / 1000);

describe('checkSlackSignature', () => {
  it('accepts a fresh request signed with the secret', () => {
    expect(checkSlackSignature(request(now()), body, SECRET)).toEqual({ ok: true });
  });

  it('tells a forged signature from an authentic but stale (replayed) request', () => {
    expect(checkSlackSignature(request(now(), 'other-secret'), body, SECRET)).toEqual({
      ok: false,
      reason: 'forged Slack signature (signature mismatch)',
      authentic: false,
    });
    // A body altered after signing is forged too.
    expect(checkSlackSignature(request(now()), body.replace('U0ALICE', 'U0EVE'), SECRET)).toMatchObject({
      ok: false,
      authentic: false,
    });
    const stale = checkSlackSignature(request(now() - 600), body, SECRET);
    expect(stale).toMatchObject({ ok: false, authentic: true });
    expect(stale.ok === false && stale.reason).toMatch(/^stale Slack request: signed 60\d s ago/);
    // Old AND forged: forged (nothing in it is trusted).
    expect(checkSlackSignature(request(now() - 600, 'other-secret'), body, SECRET)).toMatchObject({
      authentic: false,
    });
  });

  it('refuses a request without the signature headers', () => {
    const bare = { headers: {} } as unknown as IncomingMessage;
    expect(checkSlackSignature(bare, body, SECRET)).toEqual({
      ok: false,
      reason: 'missing Slack signature headers',
      authentic: false,
    });
  });
});

describe('clickOf', () => {
  it('reads the operation and the Slack user of a block_actions body, and nothing from junk', () => {
    expect(clickOf(body)).toEqual({ operationId: OP, userId: 'U0ALICE' });
    expect(clickOf('payload=not-json')).toEqual({});
    expect(clickOf('token=x')).toEqual({});
    const notAnOperation = `payload=${encodeURIComponent(
      JSON.stringify({ user: { id: 'U1' }, actions: [{ value: JSON.stringify({ op: "op-'; drop" }) }] }),
    )}`;
    expect(clickOf(notAnOperation)).toEqual({ userId: 'U1' });
  });
});

describe('slackRefusalEvent', () => {
  it('is a denied approvals/decide event with the channel in its notes', () => {
    const audit = { store: { append: async () => undefined }, defaultTenant: 'default', configVersion: 'v1' };
    expect(slackRefusalEvent(audit, { reason: 'forged' })).toMatchObject({
      tenant: 'default',
      user: 'unknown',
      server: 'approvals',
      method: 'approvals/decide',
      decision: 'deny',
      outcome: 'denied',
      errorMessage: 'forged',
      intent: 'slack approval refused',
      configVersion: 'v1',
      notes: ['channel: slack'],
    });
    expect(
      slackRefusalEvent(audit, { reason: 'r', tenant: 'acme', operationId: OP, user: 'a@b.c', via: 'slack:U1' }),
    ).toMatchObject({
      tenant: 'acme',
      operationId: OP,
      target: OP,
      user: 'a@b.c',
      notes: ['channel: slack', 'via: slack:U1'],
    });
  });
});
