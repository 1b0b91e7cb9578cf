import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NotificationsConfig } from '@atom-gov/config';
import type { NotificationRequest, NotificationResult, Notifier, OperationState } from '@atom-gov/contracts';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ApprovalLinkSigner } from './approval-link.js';

/** Links without a deadline (no approval timeout) still expire. */
const MAX_LINK_LIFETIME_MS = 7 * 24 * 3_600_000;

export interface EmailNotifierOptions {
  config: NotificationsConfig;
  signer: ApprovalLinkSigner;
  /** Where outbox-mode links are reported (default: console.log). */
  log?: (line: string) => void;
  now?: () => number;
}

function addressOf(target: string): string {
  return target.replace(/^mailto:/i, '').trim();
}

function canonical(identity: string): string {
  return addressOf(identity).toLowerCase();
}

/**
 * Approval emails. Each approver gets a link signed for them, single-use (enforced by the gateway page), expiring
 * no later than the operation's deadline. SMTP when configured; otherwise the embedded default writes .eml files
 * into the outbox and logs the link, so a local install can be approved without a mail server.
 */
export class EmailNotifier implements Notifier {
  readonly name = 'email';
  readonly schemes = ['mailto'] as const;
  private readonly transport: Transporter;
  private readonly outbox: boolean;

  constructor(private readonly opts: EmailNotifierOptions) {
    const smtp = opts.config.smtp;
    this.outbox = smtp === undefined;
    this.transport =
      smtp === undefined
        ? nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
        : nodemailer.createTransport({
            host: smtp.host,
            port: smtp.port,
            secure: smtp.secure,
            ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.pass ?? '' } } : {}),
            connectionTimeout: 10_000,
            greetingTimeout: 10_000,
            socketTimeout: 20_000,
          });
  }

  /** The signed link for one approver, or undefined when the target may not decide (a notify-only address). */
  linkFor(state: OperationState, approver: string): string | undefined {
    if (state.closed || !state.approvers.map(canonical).includes(canonical(approver))) return undefined;
    const now = this.opts.now?.() ?? Date.now();
    const deadline = state.deadline !== undefined ? Date.parse(state.deadline) : Number.POSITIVE_INFINITY;
    const exp = Math.min(deadline, now + MAX_LINK_LIFETIME_MS);
    const { token } = this.opts.signer.issue({
      operationId: state.operationId,
      approver: canonical(approver),
      argsHash: state.argsHash,
      exp,
    });
    return `${this.opts.config.publicUrl}/approvals/${token}`;
  }

  async send(request: NotificationRequest): Promise<NotificationResult> {
    const to = addressOf(request.target);
    if (!/^[^@\s]+@[^@\s]+$/.test(to)) throw new Error(`'${request.target}' is not an email address`);
    const { state } = request;
    const link =
      request.kind === 'operation_decided' || request.kind === 'quota_alert' ? undefined : this.linkFor(state, to);
    const subject = subjectOf(request);
    const lines = [
      request.text,
      '',
      `Tool:       ${state.tool}`,
      `Server:     ${state.server}`,
      `Policy:     ${state.policy}`,
      `Arguments:  ${state.redactedArgs}`,
      `Approvals:  ${state.approvals.length} of ${state.requiredApprovals}`,
      ...(state.deadline ? [`Deadline:   ${state.deadline}`] : []),
      `Operation:  ${state.operationId}`,
      ...(link ? ['', 'Review and decide (the link works once, for you only):', link] : []),
    ];
    const html = link
      ? `<p>${esc(request.text)}</p><p><a href="${esc(link)}">Review and decide</a></p>` +
        `<p style="color:#555">Tool <b>${esc(state.tool)}</b> on <b>${esc(state.server)}</b> · policy ${esc(state.policy)}` +
        `${state.deadline ? ` · deadline ${esc(state.deadline)}` : ''}</p><p style="color:#888">Operation ${esc(state.operationId)}. ` +
        'The link works once and only for you.</p>'
      : `<p>${esc(request.text)}</p><p style="color:#888">Operation ${esc(state.operationId)}</p>`;
    const info = (await this.transport.sendMail({
      from: this.opts.config.from,
      to,
      subject,
      text: lines.join('\n'),
      html,
      headers: { 'X-Atom-Gov-Operation': state.operationId, 'X-Atom-Gov-Notification': request.id },
    })) as { messageId: string; message?: Buffer };
    if (this.outbox) {
      await mkdir(this.opts.config.outboxDir, { recursive: true });
      const file = join(this.opts.config.outboxDir, `${Date.now()}-${state.operationId}-${safe(to)}.eml`);
      await writeFile(file, info.message ?? Buffer.alloc(0), { mode: 0o600 });
      (this.opts.log ?? console.log)(`email to ${to} written to ${file}${link ? `; approval link: ${link}` : ''}`);
    }
    return { delivered: true, ref: info.messageId };
  }

  close(): void {
    this.transport.close();
  }
}

function subjectOf(request: NotificationRequest): string {
  const { state } = request;
  switch (request.kind) {
    case 'approval_requested':
      return `Approval needed: ${state.tool} on ${state.server}`;
    case 'approval_reminder':
      return `Reminder: approval needed for ${state.tool} on ${state.server}`;
    case 'approval_escalated':
      return `Escalated: approval needed for ${state.tool} on ${state.server}`;
    case 'operation_decided':
      return `${state.decision === 'allow' ? 'Approved' : 'Denied'}: ${state.tool} on ${state.server}`;
    case 'quota_alert':
      return `Quota alert: ${state.server}`;
  }
}

function safe(text: string): string {
  return text.replace(/[^a-zA-Z0-9@._-]/g, '_');
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
