// Escalation and reminders end to end THROUGH THE GATEWAY: the official MCP SDK client calls a governed tool on the
// real gateway (server-everything upstream from npm), the real worker runs the governed-operation workflow on the
// suite's Temporal dev server and mails approvers through the config's SMTP server, here a real SMTP server on
// loopback (smtp-server) whose messages are parsed (mailparser). The escalation approver follows the link in their
// "Escalated" mail, approves on the gateway's page, and the waiting call proceeds. Durations are short on purpose.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Client } from '@modelcontextprotocol/client';
import { version as uuidVersion } from 'uuid';
import { approvalLinkIn, type CapturedMail, type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';
import { openApprovalPage, postApprovalForm } from './support/approval-page.js';
import { type GovernedStack, startGovernedStack } from './support/governed-stack.js';

const KEY = 'agk_escalation_dev_0123456789';
const ESCALATE_AFTER_S = 2;
const REMIND_EVERY_S = 1;

let smtp: SmtpCapture;
let stack: GovernedStack;
let client: Client;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  stack = await startGovernedStack({
    name: 'escalation',
    keys: [{ name: 'dev', key: KEY, user: 'dev@company.com', roles: ['dev'] }],
    policies: {
      'escalation.yaml': `policy:
  name: deploy_escalates
  trigger: { mcp_server: everything, operation: echo }
  action:
    require_approval:
      approvers: [alice@company.com]
      timeout: 2m
      on_timeout: deny
      escalate_after: ${ESCALATE_AFTER_S}s
      escalate_to: [cto@company.com]
      reminders: ${REMIND_EVERY_S}s
`,
    },
    extraConfig: `  notifications:
    link_secret: escalation-link-secret-0123456789abcdef
    from: ATOM-GOV <gov@company.com>
    smtp: { host: 127.0.0.1, port: ${smtp.port}, secure: false }
`,
    notifiers: true,
  });
  client = await stack.connect(KEY);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await smtp?.close();
});

describe('escalation and reminders through the gateway', () => {
  it('reminds, escalates once to the further approver, whose emailed approval lets the waiting call proceed', async () => {
    const started = Date.now();
    const args = { message: 'deploy to production' };
    const { gc, audit, tenant } = stack;
    const call = client.callTool(
      { name: 'echo', arguments: args },
      { timeout: 60_000, resetTimeoutOnProgress: true, onprogress: () => undefined },
    );
    const op = await stack.pendingWith(args);
    const id = op.operationId;
    const of = (to: string, subject: RegExp) => (m: CapturedMail) =>
      m.operationId === id && m.to === to && subject.test(m.subject);

    // The first approver is asked, then reminded while nobody decides.
    const asked = await smtp.waitFor(of('alice@company.com', /^Approval needed: echo on everything$/));
    const reminded = await smtp.waitFor(of('alice@company.com', /^Reminder: approval needed for echo on everything$/));
    expect(reminded.at).toBeGreaterThan(asked.at);
    expect(reminded.text).toContain('is waiting for approval');
    // After escalate_after, the escalation approver is told, and is reminded too from then on.
    const escalated = await smtp.waitFor(of('cto@company.com', /^Escalated: approval needed for echo on everything$/));
    expect(escalated.at - started).toBeGreaterThanOrEqual(ESCALATE_AFTER_S * 1000 - 500);
    expect(escalated.text).toContain(`Operation:  ${id}`);
    await smtp.waitFor(of('cto@company.com', /^Reminder:/));
    expect((await gc.state(id)).escalated).toBe(true);
    expect((await gc.state(id)).approvers).toEqual(['alice@company.com', 'cto@company.com']);

    // The escalation approver follows their link: GET shows the page, POST (with the page's CSRF token) approves.
    const link = approvalLinkIn(escalated);
    const page = await openApprovalPage(link);
    expect(page.status).toBe(200);
    expect(page.html).toContain('cto@company.com');
    expect(page.cookie).toBeDefined();
    const decided = await postApprovalForm(
      link,
      { decision: 'approve', csrf: page.csrf!, reason: 'escalated: go ahead' },
      page.cookie,
    );
    expect(decided.status).toBe(200);
    expect(decided.html).toContain('You approved this operation');

    // The waiting call proceeds with the upstream's result.
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: deploy to production' }]);
    const final = await gc.result(id); // every background notification has settled once the run is closed
    expect(final).toMatchObject({ status: 'succeeded', decision: 'allow', escalated: true });
    expect(final.approvals).toEqual([
      expect.objectContaining({ approver: 'cto@company.com', channel: 'email', reason: 'escalated: go ahead' }),
    ]);

    // Notified once: one request to alice, one escalation to the CTO (none to alice); reminders to both.
    const count = (to: string, subject: RegExp) => smtp.mails.filter(of(to, subject)).length;
    expect(count('alice@company.com', /^Approval needed/)).toBe(1);
    expect(count('cto@company.com', /^Approval needed/)).toBe(0);
    expect(count('cto@company.com', /^Escalated/)).toBe(1);
    expect(count('alice@company.com', /^Escalated/)).toBe(0);
    expect(count('alice@company.com', /^Reminder/)).toBeGreaterThanOrEqual(1);
    expect(count('cto@company.com', /^Reminder/)).toBeGreaterThanOrEqual(1);
    // Reminders stop at the decision: at most one per period while it was pending (the run is closed now, so no
    // more can be scheduled), and alice never more than the periods that passed.
    const pendingMs = Date.parse(final.decidedAt!) - Date.parse(final.requestedAt);
    expect(count('alice@company.com', /^Reminder/)).toBeLessThanOrEqual(
      Math.floor(pendingMs / (REMIND_EVERY_S * 1000)),
    );

    // The audit trail: the workflow's records (requested, escalated, the CTO's vote, the decision, the outcome) and
    // the gateway's own record of the call.
    const events = await audit.query({ operationId: id, tenant });
    const workflow = events.filter((e) => uuidVersion(e.id) === 5).map((e) => e.intent ?? '');
    for (const intent of [
      /^requested: governed by deploy_escalates$/,
      /^escalated: escalated to /,
      /^vote: approve by .* via email: escalated: go ahead$/,
      /^decided: approved by /,
      /^outcome: /,
    ]) {
      expect(workflow).toEqual(expect.arrayContaining([expect.stringMatching(intent)]));
    }
    const gatewayRecord = events.filter((e) => uuidVersion(e.id) !== 5);
    expect(gatewayRecord).toEqual([
      expect.objectContaining({ decision: 'governed', outcome: 'ok', target: 'echo', user: 'dev@company.com' }),
    ]);
  }, 120_000);
});
