// Escalation and reminders end to end THROUGH THE GATEWAY: the official MCP SDK client calls a governed tool on the
// real gateway (server-everything upstream from npm), the real worker runs the governed-operation workflow on the
// suite's Temporal dev server and mails approvers through the config's SMTP server, here a real SMTP server on
// loopback (smtp-server) whose messages are parsed (mailparser). The escalation approver follows the link in their
// "Escalated" mail, approves on the gateway's page, and the waiting call proceeds. Durations are short on purpose.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditStore, openAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { type RunningGateway, startGateway } from '@atom-gov/gateway';
import { argsHash, GovernanceClient, type PendingOperation } from '@atom-gov/governance-client';
import { freePort } from '@atom-gov/mcp';
import { createNotifiers } from '@atom-gov/notify';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { type RunningWorker, startWorker } from '@atom-gov/worker';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { version as uuidVersion } from 'uuid';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const KEY = 'agk_escalation_dev_0123456789';
const TENANT = `t-${randomUUID().slice(0, 8)}`;
const ESCALATE_AFTER_S = 2;
const REMIND_EVERY_S = 1;

let dir: string;
let smtp: SMTPServer;
const mails: ParsedMail[] = [];
const mailWaiters: Array<() => void> = [];
let audit: AuditStore;
let worker: RunningWorker;
let closeNotifiers: () => void;
let gateway: RunningGateway;
let gc: GovernanceClient;
let client: Client;

interface Mail {
  to: string;
  subject: string;
  operationId: string;
  text: string;
  at: number;
}
const received: Mail[] = [];

function toOf(mail: ParsedMail): string {
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return to?.value[0]?.address?.toLowerCase() ?? '';
}

/** The first mail (already received or future) matching `match`. */
async function mailWhere(match: (m: Mail) => boolean): Promise<Mail> {
  for (;;) {
    const found = received.find(match);
    if (found) return found;
    await new Promise<void>((resolve) => mailWaiters.push(resolve));
  }
}

function linkIn(mail: Mail): string {
  const match = /(http:\/\/127\.0\.0\.1:\d+\/approvals\/\S+)/.exec(mail.text);
  if (!match?.[1]) throw new Error(`no approval link in the mail to ${mail.to}: ${mail.text}`);
  return match[1];
}

beforeAll(async () => {
  const env = temporalTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-escalation-'));
  smtp = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          received.push({
            to: toOf(mail),
            subject: mail.subject ?? '',
            operationId: String(mail.headers.get('x-atom-gov-operation') ?? ''),
            text: mail.text ?? '',
            at: Date.now(),
          });
          mailWaiters.splice(0).forEach((w) => w());
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as { port: number }).port;
  const port = await freePort();
  writeFileSync(
    join(dir, 'escalation.yaml'),
    `policy:
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
  );
  writeFileSync(
    join(dir, 'mcp-governance.yaml'),
    `atom_gov:
  version: 1.0.0
  temporal: { address: ${env.address}, namespace: ${env.namespace}, task_queue: ${uniqueTaskQueue('escalation')} }
  gateway:
    host: 127.0.0.1
    port: ${port}
    api_keys:
      - name: dev
        sha256: ${createHash('sha256').update(KEY).digest('hex')}
        tenant: ${TENANT}
        user: dev@company.com
        roles: [dev]
  notifications:
    link_secret: escalation-link-secret-0123456789abcdef
    from: ATOM-GOV <gov@company.com>
    smtp: { host: 127.0.0.1, port: ${smtpPort}, secure: false }
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([everything, 'stdio'])}
  policy_files: [escalation.yaml]
`,
  );
  const config = await loadConfig({ configPath: join(dir, 'mcp-governance.yaml'), dataDir: dir, env: { HOME: dir } });
  const notifiers = createNotifiers(config);
  closeNotifiers = notifiers.close;
  worker = await startWorker({
    config,
    temporalAddress: env.address,
    registerSearchAttributes: true,
    retentionSchedule: false,
    notifiers: notifiers.notifiers,
  });
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  gateway = await startGateway({ config, audit, temporalAddress: env.address, logger: ['error'] });
  gc = await GovernanceClient.connect({
    address: env.address,
    namespace: env.namespace,
    taskQueue: config.temporal.taskQueue,
  });
  client = new Client({ name: 'escalation-e2e', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/everything`), {
      requestInit: { headers: { authorization: `Bearer ${KEY}` } },
    }),
  );
}, 120_000);

afterAll(async () => {
  await client?.close();
  await gateway?.close();
  await worker?.shutdown();
  closeNotifiers?.();
  await gc?.close();
  await audit?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function pendingWith(args: Record<string, unknown>): Promise<PendingOperation> {
  const hash = argsHash(args);
  for (;;) {
    const op = (await gc.listPending({ tenant: TENANT })).find((o) => o.state.argsHash === hash);
    if (op && op.state.status === 'pending') return op;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('escalation and reminders through the gateway', () => {
  it('reminds, escalates once to the further approver, whose emailed approval lets the waiting call proceed', async () => {
    const started = Date.now();
    const args = { message: 'deploy to production' };
    const call = client.callTool(
      { name: 'echo', arguments: args },
      { timeout: 60_000, resetTimeoutOnProgress: true, onprogress: () => undefined },
    );
    const op = await pendingWith(args);
    const id = op.operationId;
    const of = (to: string, subject: RegExp) => (m: Mail) =>
      m.operationId === id && m.to === to && subject.test(m.subject);

    // The first approver is asked, then reminded while nobody decides.
    const asked = await mailWhere(of('alice@company.com', /^Approval needed: echo on everything$/));
    const reminded = await mailWhere(of('alice@company.com', /^Reminder: approval needed for echo on everything$/));
    expect(reminded.at).toBeGreaterThan(asked.at);
    expect(reminded.text).toContain('is waiting for approval');
    // After escalate_after, the escalation approver is told, and is reminded too from then on.
    const escalated = await mailWhere(of('cto@company.com', /^Escalated: approval needed for echo on everything$/));
    expect(escalated.at - started).toBeGreaterThanOrEqual(ESCALATE_AFTER_S * 1000 - 500);
    expect(escalated.text).toContain(`Operation:  ${id}`);
    await mailWhere(of('cto@company.com', /^Reminder:/));
    expect((await gc.state(id)).escalated).toBe(true);
    expect((await gc.state(id)).approvers).toEqual(['alice@company.com', 'cto@company.com']);

    // The escalation approver follows their link: GET shows the page, POST (with the page's CSRF token) approves.
    const link = linkIn(escalated);
    const page = await fetch(link);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('cto@company.com');
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const decided = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ decision: 'approve', csrf, reason: 'escalated: go ahead' }).toString(),
    });
    expect(decided.status).toBe(200);
    expect(await decided.text()).toContain('You approved this operation');

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
    const count = (to: string, subject: RegExp) => received.filter(of(to, subject)).length;
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
    const events = await audit.query({ operationId: id, tenant: TENANT });
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
