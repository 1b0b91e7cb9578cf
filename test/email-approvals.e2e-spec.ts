// Email approvals end to end: the real governed-operation workflow mails each approver through EmailNotifier to a
// real SMTP server on loopback; the links in the parsed mails are followed against the real gateway (GET changes
// nothing, POST decides once, CSRF-protected) and clicked in headless Chromium.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditStore, openAuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, loadConfig } from '@atom-gov/config';
import { type RunningGateway, startGateway } from '@atom-gov/gateway';
import { ApprovalLinkSigner, EmailNotifier } from '@atom-gov/notify';
import { chromium } from 'playwright-core';
import { type ApprovalHarness, startApprovalHarness } from './support/approval-harness.js';
import { openApprovalPage as openPage, postApprovalForm as post } from './support/approval-page.js';
import {
  approvalLinkIn as linkIn,
  type CapturedMail,
  type SmtpCapture,
  startSmtpCapture,
} from './support/smtp-capture.js';

const LINK_SECRET = 'link-secret-for-tests-0123456789abcdef';
const APPROVERS = ['alice@company.com', 'bob@company.com', 'carol@company.com'];

let dir: string;
let smtp: SmtpCapture;
let audit: AuditStore;
let gateway: RunningGateway;
let config: AtomGovConfig;
let notifier: EmailNotifier;
let harness: ApprovalHarness;

/** The mail of this operation addressed to `to`. */
function mailFor(operationId: string, to: string): Promise<CapturedMail> {
  return smtp.waitFor((m) => m.operationId === operationId && JSON.stringify(m.parsed.to).includes(to));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-email-'));
  smtp = await startSmtpCapture();

  writeFileSync(
    join(dir, 'config.yaml'),
    [
      'atom_gov:',
      '  temporal: { namespace: default }',
      '  notifications:',
      `    link_secret: ${LINK_SECRET}`,
      '    from: ATOM-GOV <gov@company.com>',
      `    smtp: { host: 127.0.0.1, port: ${smtp.port}, secure: false }`,
      '',
    ].join('\n'),
  );
  config = await loadConfig({ configPath: join(dir, 'config.yaml'), dataDir: join(dir, 'data'), env: { HOME: dir } });
  audit = await openAuditStore({ sqlitePath: config.database.sqlitePath });
  gateway = await startGateway({
    config,
    temporalAddress: process.env.TEMPORAL_TEST_ADDRESS!,
    audit,
    port: 0,
    logger: false,
  });
  notifier = new EmailNotifier({
    config: { ...config.notifications, publicUrl: gateway.url },
    signer: new ApprovalLinkSigner(LINK_SECRET),
  });
  harness = await startApprovalHarness([notifier]);
}, 120_000);

afterAll(async () => {
  await harness?.close();
  notifier?.close();
  await gateway?.close();
  await audit?.close();
  await smtp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('email approvals through the real workflow and gateway', () => {
  it('mails each approver their own link; GET shows the operation and changes nothing; POST approves once', async () => {
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2 });
    const aliceMail = await mailFor(op, 'alice@company.com');
    const bobMail = await mailFor(op, 'bob@company.com');
    expect(aliceMail.subject).toBe('Approval needed: workers.deploy on cloudflare_mcp');
    expect(linkIn(aliceMail)).not.toBe(linkIn(bobMail));
    const link = linkIn(aliceMail);

    const page = await openPage(link);
    expect(page.status).toBe(200);
    for (const part of [
      'workers.deploy',
      'cloudflare_mcp',
      'production_deploys',
      'api-worker',
      '[EMAIL]',
      'alice@company.com',
      '0 of 2',
    ]) {
      expect(page.html).toContain(part.replace(/"/g, '&#34;'));
    }
    await openPage(link); // a mail scanner prefetching twice
    expect((await harness.decisions.state(op)).approvals).toEqual([]);

    const approved = await post(link, { decision: 'approve', csrf: page.csrf!, reason: 'looks fine' }, page.cookie);
    expect(approved.status).toBe(200);
    expect(approved.html).toContain('You approved this operation');
    const state = await harness.decisions.state(op);
    expect(state.approvals).toHaveLength(1);
    expect(state.approvals[0]).toMatchObject({ approver: 'alice@company.com', channel: 'email', reason: 'looks fine' });
    expect(state.approvals[0]!.via).toMatch(/^email-link:/);

    const replay = await post(link, { decision: 'approve', csrf: page.csrf! }, page.cookie);
    expect(replay.status).toBe(410);
    expect(replay.html).toContain('already used');
    expect((await openPage(link)).status).toBe(410);
    expect((await harness.decisions.state(op)).approvals).toHaveLength(1);
  });

  it('refuses a POST without or with a wrong CSRF token', async () => {
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2 });
    const link = linkIn(await mailFor(op, 'carol@company.com'));
    const page = await openPage(link);
    const missing = await post(link, { decision: 'approve' }, page.cookie);
    expect(missing.status).toBe(403);
    const noCookie = await post(link, { decision: 'approve', csrf: page.csrf! });
    expect(noCookie.status).toBe(403);
    const wrong = await post(
      link,
      { decision: 'approve', csrf: page.csrf!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) },
      page.cookie,
    );
    expect(wrong.status).toBe(403);
    expect(wrong.html).toContain('security token');
    expect((await harness.decisions.state(op)).approvals).toEqual([]);
    // The link was not spent by the refused posts.
    expect((await post(link, { decision: 'approve', csrf: page.csrf! }, page.cookie)).status).toBe(200);
  });

  it('refuses tampered, expired and other-approver links with a clear page', async () => {
    const started = new Date();
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 2 });
    const link = linkIn(await mailFor(op, 'alice@company.com'));
    const [base, token] = [link.slice(0, link.lastIndexOf('/') + 1), link.slice(link.lastIndexOf('/') + 1)];
    const [v, payload, mac] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;

    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'mallory@company.com' })).toString('base64url');
    const tampered = await openPage(`${base}${v}.${forgedPayload}.${mac}`);
    expect(tampered.status).toBe(403);
    expect(tampered.html).toContain('altered');

    const signer = new ApprovalLinkSigner(LINK_SECRET);
    const expired = signer.issue({
      operationId: op,
      approver: 'alice@company.com',
      argsHash: 'a'.repeat(64),
      exp: Date.now() - 1000,
    });
    const expiredPage = await openPage(`${base}${expired.token}`);
    expect(expiredPage.status).toBe(410);
    expect(expiredPage.html).toContain('expired');

    const other = signer.issue({
      operationId: op,
      approver: 'mallory@company.com',
      argsHash: 'a'.repeat(64),
      exp: Date.now() + 60_000,
    });
    const otherPage = await openPage(`${base}${other.token}`);
    expect(otherPage.status).toBe(403);
    expect(otherPage.html).toContain('not an approver');
    const otherPost = await post(
      `${base}${other.token}`,
      { decision: 'approve', csrf: signer.csrfToken(other.claims.jti, 'n'.repeat(20)) },
      `atom_gov_csrf=${'n'.repeat(20)}`,
    );
    expect(otherPost.status).toBe(403);

    expect((await openPage(`${base}not-a-token`)).status).toBe(400);
    expect((await harness.decisions.state(op)).approvals).toEqual([]);
    // Each refusal at the edge is in the audit trail (tampered, expired, other approver GET and POST, not a token).
    const refusals = await audit.query({ server: 'approvals', decision: 'deny', since: started });
    expect(refusals.map((r) => r.errorMessage?.slice(0, 3)).sort()).toEqual(['400', '403', '403', '403', '410']);
    expect(refusals.filter((r) => r.operationId === op).map((r) => r.user)).toEqual([
      'mallory@company.com',
      'mallory@company.com',
    ]);
    expect(refusals.every((r) => r.outcome === 'denied' && r.intent === 'email approval link refused')).toBe(true);
    // A verified link's refusal is in its operation's tenant; an unverifiable one in the anonymous tenant.
    expect(refusals.filter((r) => r.operationId === op).map((r) => r.tenant)).toEqual(['acme', 'acme']);
    expect(refusals.filter((r) => r.operationId === undefined).map((r) => r.tenant)).toEqual([
      'default',
      'default',
      'default',
    ]);
    expect(refusals.every((r) => r.notes?.includes('channel: email'))).toBe(true);
  });

  it('headless Chromium opens the link and clicks Approve', async () => {
    const op = await harness.startOperation({ approvers: APPROVERS, minApprovals: 1 });
    const link = linkIn(await mailFor(op, 'bob@company.com'));
    const profile = mkdtempSync(join(tmpdir(), 'atom-gov-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await context.newPage();
      const response = await page.goto(link);
      expect(response?.status()).toBe(200);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain('workers.deploy');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.waitForLoadState();
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('You approved this operation');
      await expect(page.textContent('body')).resolves.toContain('The operation is approved.');
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
    const state = await harness.decisions.state(op);
    expect(state.decision).toBe('allow');
    expect(state.approvals[0]).toMatchObject({ approver: 'bob@company.com', channel: 'email' });
  }, 60_000);
});
