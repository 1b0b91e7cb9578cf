import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { NotificationsConfig } from '@atom-gov/config';
import type { OperationState } from '@atom-gov/contracts';
import { simpleParser } from 'mailparser';
import { ApprovalLinkSigner } from './approval-link.js';
import { EmailNotifier } from './email.notifier.js';

const state: OperationState = {
  operationId: 'op-0123456789abcdef0123',
  tenant: 'acme',
  server: 'cloudflare_mcp',
  tool: 'workers.deploy',
  requesterRef: 'u-1234',
  policy: 'production_deploys',
  policyVersion: 'v'.repeat(64),
  argsHash: 'a'.repeat(64),
  redactedArgs: '{"script":"<b>x</b>"}',
  requestedAt: '2026-11-24T10:00:00.000Z',
  status: 'pending',
  approvalRequired: true,
  requiredApprovals: 2,
  approvals: [],
  rejections: [],
  approvers: ['alice@company.com', 'bob@company.com'],
  escalated: false,
  deadline: '2026-11-24T11:00:00.000Z',
  quotas: [],
  closed: false,
};

function outboxConfig(): NotificationsConfig {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-outbox-'));
  return {
    publicUrl: 'http://127.0.0.1:8700',
    from: 'ATOM-GOV <gov@localhost>',
    outboxDir: join(dir, 'outbox'),
    linkKeyFile: join(dir, 'key'),
    slack: { socketMode: false, host: '127.0.0.1', port: 3000, channels: {}, users: {} },
  };
}

describe('EmailNotifier (embedded default: outbox)', () => {
  const signer = new ApprovalLinkSigner('s'.repeat(32));
  const now = Date.parse('2026-11-24T10:05:00.000Z');

  it('writes an .eml per approver with their own link, expiring at the deadline, and logs the link', async () => {
    const config = outboxConfig();
    const lines: string[] = [];
    const notifier = new EmailNotifier({ config, signer, log: (l) => lines.push(l), now: () => now });
    const result = await notifier.send({
      id: `${state.operationId}:approval_requested:alice@company.com`,
      kind: 'approval_requested',
      target: 'mailto:Alice@Company.com',
      state,
      text: 'dev asks to run workers.deploy',
    });
    expect(result.delivered).toBe(true);
    const files = readdirSync(config.outboxDir);
    expect(files).toHaveLength(1);
    const mail = await simpleParser(readFileSync(join(config.outboxDir, files[0]!)));
    expect(mail.subject).toBe('Approval needed: workers.deploy on cloudflare_mcp');
    const link = /http:\/\/127\.0\.0\.1:8700\/approvals\/(\S+)/.exec(mail.text ?? '')?.[1];
    expect(link).toBeDefined();
    const claims = signer.verify(link!, now);
    expect(claims).toMatchObject({
      operationId: state.operationId,
      approver: 'alice@company.com',
      argsHash: state.argsHash,
    });
    expect(claims.exp).toBe(Date.parse(state.deadline!));
    expect(mail.html).not.toContain('<b>x</b>'); // arguments never become markup
    expect(lines[0]).toContain(`/approvals/${link}`);
    notifier.close();
  });

  it('sends no link to a notify-only address or once the operation is decided', async () => {
    const notifier = new EmailNotifier({ config: outboxConfig(), signer, log: () => undefined, now: () => now });
    expect(notifier.linkFor(state, 'ops@company.com')).toBeUndefined();
    expect(notifier.linkFor({ ...state, closed: true }, 'alice@company.com')).toBeUndefined();
    expect(notifier.linkFor(state, 'bob@company.com')).toMatch(/^http:\/\/127\.0\.0\.1:8700\/approvals\/v1\./);
    await expect(
      notifier.send({ id: 'x', kind: 'approval_requested', target: 'slack://ops', state, text: 't' }),
    ).rejects.toThrow('not an email address');
    notifier.close();
  });
});
