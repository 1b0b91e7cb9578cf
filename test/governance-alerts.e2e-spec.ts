// Alerts from the fast path (alert_on_limit, alert_on_pii, shadow-mode would-be denials) through the real gateway:
// delivered to the policy's notification targets over the Slack Web API (a local fake recording calls) and real
// SMTP (smtp-server), deduplicated per window so a hot loop sends one alert per target, and never failing a call
// when a target is broken.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeSlackApi, type FakeSlackApi } from './support/fake-slack-api.js';
import { CALLERS, server, startGoverned, text, type GovernedGateway } from './support/governance-gateway.js';
import { type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';

const { alice, bob } = CALLERS;
let slack: FakeSlackApi;
let smtp: SmtpCapture;

beforeAll(async () => {
  slack = await startFakeSlackApi({ channels: [{ id: 'C0OPS', name: 'ops-channel' }], emails: {} });
  smtp = await startSmtpCapture();
});

afterAll(async () => {
  await slack.close();
  await smtp.close();
});

function notifications(slackUrl: string): string {
  return `  notifications:
    from: ATOM-GOV <gov@company.com>
    smtp: { host: 127.0.0.1, port: ${smtp.port}, secure: false }
    slack:
      bot_token: xoxb-test
      api_url: ${slackUrl}
`;
}

const RATE = `policy:
  name: research_rate_limit
  trigger:
    mcp_server: perplexity_mcp
    operation: echo
  action:
    rate_limit:
      limit: 100/hour
      per: user
      burst: 3
      on_exceeded: block
  audit:
    log_level: summary
    alert_on_limit: true
    notification: [slack://ops-channel, ops-team@company.com]
`;

const PII = `policy:
  name: pii_watch
  trigger:
    mcp_server: perplexity_mcp
    operation: all
  action:
    pii_detection:
      enabled: true
      redact: true
      patterns: [email]
  audit:
    alert_on_pii: true
    notification: slack://ops-channel
`;

describe('alerts through the gateway', () => {
  let gw: GovernedGateway;
  afterAll(async () => gw?.close());

  it('a hot loop over a rate limit sends one Slack message and one email per window, and calls stay fast', async () => {
    gw = await startGoverned(
      `${notifications(slack.url)}  servers:\n${server('perplexity_mcp', 'everything')}  policy_files: [rate.yaml, pii.yaml]\n`,
      { 'rate.yaml': RATE, 'pii.yaml': PII },
    );
    const a = await gw.connect(alice, 'perplexity_mcp');
    for (let i = 0; i < 3; i++)
      expect((await a.callTool({ name: 'echo', arguments: { message: 'q' } })).isError).toBeFalsy();
    const started = performance.now();
    for (let i = 0; i < 40; i++) {
      const r = await a.callTool({ name: 'echo', arguments: { message: 'q' } });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^Denied by policy research_rate_limit/);
    }
    // 40 denied calls including alerting: the alert path never holds a call up (it is not awaited).
    expect(performance.now() - started).toBeLessThan(10_000);

    const posted = await slack.waitFor('chat.postMessage', (c) => String(c.args.text).includes('Rate limit'));
    expect(posted.args.channel).toBe('C0OPS');
    expect(String(posted.args.text)).toContain('perplexity_mcp echo (tenant acme)');
    expect(String(posted.args.text)).not.toContain('alice'); // labels and alerts never name the user
    const mail = await smtp.waitFor((m) => m.subject.includes('Rate limit'));
    expect(mail.subject).toBe('[ATOM-GOV alert] Rate limit: echo');
    expect((mail.parsed.to as { text: string }).text).toBe('ops-team@company.com');
    expect(mail.text).toContain('Policy: research_rate_limit');

    // One more denied call after the first alerts arrived: still deduplicated (same window).
    await a.callTool({ name: 'echo', arguments: { message: 'q' } });
    const rateMessages = slack.calls.filter(
      (c) => c.method === 'chat.postMessage' && String(c.args.text).includes('Rate limit'),
    );
    expect(rateMessages).toHaveLength(1);
    expect(smtp.mails.filter((m) => m.subject.includes('Rate limit'))).toHaveLength(1);
  });

  it('PII in arguments alerts Slack with the kinds only, never the value', async () => {
    const b = await gw.connect(bob, 'perplexity_mcp');
    const r = await b.callTool({ name: 'echo', arguments: { message: 'mail jane.doe@example.com' } });
    expect(text(r)).toContain('[REDACTED:email]');
    const posted = await slack.waitFor('chat.postMessage', (c) => String(c.args.text).includes('PII detected'));
    expect(String(posted.args.text)).toMatch(/PII in the arguments: email×1 \(redact\)/);
    expect(JSON.stringify(posted.args)).not.toContain('jane.doe@example.com');
  });
});

describe('alerts with broken targets', () => {
  it('a failing Slack API and an unreachable SMTP server never fail or block the call', async () => {
    const gw = await startGoverned(
      `  notifications:
    smtp: { host: 127.0.0.1, port: 1, secure: false }
    slack:
      bot_token: xoxb-test
      api_url: http://127.0.0.1:1/api/
  servers:\n${server('perplexity_mcp', 'everything')}  policy_files: [rate.yaml]\n`,
      { 'rate.yaml': RATE.replace('burst: 3', 'burst: 1') },
    );
    try {
      const a = await gw.connect(alice, 'perplexity_mcp');
      expect(text(await a.callTool({ name: 'echo', arguments: { message: 'ok' } }))).toBe('Echo: ok');
      const denied = await a.callTool({ name: 'echo', arguments: { message: 'again' } });
      expect(denied.isError).toBe(true);
      expect(text(denied)).toMatch(/rate limit|limit/);
      // The session still works after the failed deliveries.
      expect((await a.listTools()).tools.some((t) => t.name === 'echo')).toBe(true);
    } finally {
      await gw.close();
    }
  });
});
