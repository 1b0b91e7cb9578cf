// Refusals at the Slack edge (forged or stale request signatures, votes the workflow refused) go to the audit
// trail: one event each, with the operation id only when it comes from an authentic (signed) request, and never the
// signature or any secret.
import type { IncomingMessage } from 'node:http';
import type { AuditEventInput } from '@atom-gov/audit';
import { isOperationId } from '@atom-gov/contracts';
import bolt from '@slack/bolt';

const { verifySlackRequest } = bolt;

/** Where the Slack edge writes its refusals: the process's audit store, and what a record needs besides. */
export interface SlackRefusalAudit {
  store: { append(event: AuditEventInput): Promise<void> };
  /** Tenant of refusals whose operation is not known (e.g. a forged request): the gateway's anonymous tenant. */
  defaultTenant: string;
  configVersion: string;
}

export interface SlackRefusal {
  reason: string;
  tenant?: string;
  operationId?: string;
  /** The approver identity when known, else `slack:<user id>`, else nothing (an unauthenticated request). */
  user?: string;
  via?: string;
  requestBytes?: number;
}

export function slackRefusalEvent(audit: SlackRefusalAudit, r: SlackRefusal): AuditEventInput {
  return {
    time: new Date(),
    tenant: r.tenant ?? audit.defaultTenant,
    user: r.user ?? 'unknown',
    server: 'approvals',
    method: 'approvals/decide',
    ...(r.operationId !== undefined ? { target: r.operationId, operationId: r.operationId } : {}),
    decision: 'deny',
    outcome: 'denied',
    errorMessage: r.reason,
    intent: 'slack approval refused',
    configVersion: audit.configVersion,
    durationMs: 0,
    requestBytes: r.requestBytes ?? 0,
    responseBytes: 0,
    notes: ['channel: slack', ...(r.via !== undefined ? [`via: ${r.via}`] : [])],
  };
}

export type SignatureCheck =
  | { ok: true }
  /** `authentic`: the body was signed with our secret (a stale replay), so what it names can be trusted. */
  | { ok: false; reason: string; authentic: boolean };

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Bolt's own check (verifySlackRequest: HMAC and the 5-minute window), and when it fails, the same check at the
 * request's own timestamp to tell a forged signature from an authentic but stale (replayed) request.
 */
export function checkSlackSignature(req: IncomingMessage, body: string, signingSecret: string): SignatureCheck {
  const signature = header(req, 'x-slack-signature');
  const timestamp = Number(header(req, 'x-slack-request-timestamp'));
  if (signature === undefined || !Number.isFinite(timestamp))
    return { ok: false, reason: 'missing Slack signature headers', authentic: false };
  const headers = { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp };
  try {
    verifySlackRequest({ signingSecret, body, headers });
    return { ok: true };
  } catch {
    try {
      verifySlackRequest({ signingSecret, body, headers, nowMilliseconds: timestamp * 1000 });
    } catch {
      return { ok: false, reason: 'forged Slack signature (signature mismatch)', authentic: false };
    }
    const age = Math.round(Date.now() / 1000 - timestamp);
    return {
      ok: false,
      reason: `stale Slack request: signed ${age} s ago (more than 5 minutes; a replay?)`,
      authentic: true,
    };
  }
}

/** The operation and Slack user a signed `block_actions` body names (only read from authentic requests). */
export function clickOf(body: string): { operationId?: string; userId?: string } {
  try {
    const payload = new URLSearchParams(body).get('payload');
    if (payload === null) return {};
    const p = JSON.parse(payload) as { user?: { id?: unknown }; actions?: Array<{ value?: unknown }> };
    const userId = typeof p.user?.id === 'string' ? p.user.id : undefined;
    const value = p.actions?.[0]?.value;
    const op = typeof value === 'string' ? (JSON.parse(value) as { op?: unknown }).op : undefined;
    return {
      ...(typeof op === 'string' && isOperationId(op) ? { operationId: op } : {}),
      ...(userId !== undefined ? { userId } : {}),
    };
  } catch {
    return {};
  }
}
