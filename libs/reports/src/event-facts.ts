// What a report needs to know about one audit event, read from the fields the gateway and the governed-operation
// workflow write (see apps/gateway toAuditEvent and workflows/governed-operation.workflow.ts): kept in one place so
// the compliance report and the chargeback agree on what counts as a call.
import type { AuditEvent } from '@atom-gov/audit';

/** Policy operations (listings and session plumbing are not). */
const OPERATIONS = new Set(['tools/call', 'resources/read', 'prompts/get']);
/** Event kinds of the governed-operation workflow; its records carry `<kind>` or `<kind>: text` as intent. */
const WORKFLOW_EVENT = /^(requested|quota_refused|vote|escalated|decided|outcome|expired|notification_failed)(:|$)/;

/** Notes: the store's `notes` column when present, else the `; `-joined tail the gateway puts in errorMessage. */
export function notesOf(e: AuditEvent): string[] {
  const notes = (e as { notes?: unknown }).notes;
  if (Array.isArray(notes)) return notes.filter((n): n is string => typeof n === 'string');
  return e.errorMessage ? e.errorMessage.split('; ') : [];
}

/** A record the governed-operation workflow wrote about a decision (not the upstream call itself). */
export function isWorkflowRecord(e: AuditEvent): boolean {
  return (
    e.intent !== undefined &&
    WORKFLOW_EVENT.test(e.intent) &&
    e.requestBytes === 0 &&
    e.responseBytes === 0 &&
    e.durationMs === 0
  );
}

export function workflowEventOf(e: AuditEvent): string | undefined {
  return isWorkflowRecord(e) ? WORKFLOW_EVENT.exec(e.intent!)![1] : undefined;
}

/** A call that reached (or was meant to reach) the upstream server, once per call. */
export function isCall(e: AuditEvent): boolean {
  return OPERATIONS.has(e.method) && !isWorkflowRecord(e);
}

/** A call that ran upstream: the billable ones. */
export function isExecuted(e: AuditEvent): boolean {
  return isCall(e) && (e.decision === 'allow' || e.decision === 'governed') && e.outcome !== 'denied';
}

export type LimitKind = 'rate_limit' | 'quota';

/** Rate-limit and quota hits: denials, and soft/warn hits recorded as notes. */
export function limitEventOf(e: AuditEvent): { kind: LimitKind; policy: string; enforced: boolean } | undefined {
  if (workflowEventOf(e) === 'quota_refused') return { kind: 'quota', policy: e.policy ?? '-', enforced: true };
  const denied = e.decision === 'deny' || e.outcome === 'denied';
  const text = [e.errorMessage ?? '', ...notesOf(e)].join(' ');
  if (/rate limit/i.test(text)) return { kind: 'rate_limit', policy: e.policy ?? policyIn(text), enforced: denied };
  if (/\bquota\b/i.test(text)) return { kind: 'quota', policy: e.policy ?? policyIn(text), enforced: denied };
  return undefined;
}

function policyIn(text: string): string {
  return /by policy ([^\s:]+)/.exec(text)?.[1] ?? '-';
}

/**
 * PII kinds found in an event: the gateway notes `pii in arguments: email×2, ssn×1 (redacted)`, the store's
 * redactor notes `pii redacted: email, ssn`. Values are never in the notes, only kinds and counts.
 */
export function piiFindingsOf(e: AuditEvent): Array<{ kind: string; count: number; where: string }> {
  const out: Array<{ kind: string; count: number; where: string }> = [];
  for (const note of notesOf(e)) {
    const m = /^pii (in arguments|in result|redacted): ([^()]+?)(?:\s*\(([^)]*)\))?\s*$/.exec(note.trim());
    if (!m) continue;
    const where = m[1] === 'redacted' ? 'stored fields' : m[1]!.replace('in ', '');
    for (const part of m[2]!.split(',')) {
      const k = /^\s*([^×\s]+)(?:×(\d+))?\s*$/.exec(part);
      if (k) out.push({ kind: k[1]!, count: Number(k[2] ?? 1), where });
    }
  }
  return out;
}

/** A denial's reason without the variable parts (retry times, counts), so equal reasons group together. */
export function denialReasonOf(e: AuditEvent): string {
  const text = e.errorMessage?.split('; ')[0] ?? e.intent ?? 'denied';
  return text
    .replace(/^Denied by policy [^:]*:\s*/, '')
    .replace(/retry (after|in) [^;.)]*/gi, 'retry later')
    .replace(/\d+(\.\d+)?/g, '#')
    .slice(0, 160);
}

/**
 * Units the tool reported: an audit note `cost units: N`, else the number under `cost_units` / `costUnits` (the keys
 * the governed path reads from a result's `_meta`) or `atom-gov/cost_units` in the stored result summary (audit
 * level full), whether in `_meta` or `structuredContent`.
 */
export function reportedUnitsOf(e: AuditEvent): number {
  for (const note of notesOf(e)) {
    const m = /^cost units: (\d+(?:\.\d+)?)$/.exec(note.trim());
    if (m) return Number(m[1]);
  }
  const m = e.resultSummary
    ? /"(?:atom-gov\/cost_units|cost_units|costUnits)"\s*:\s*(\d+(?:\.\d+)?)/.exec(e.resultSummary)
    : null;
  return m ? Number(m[1]) : 0;
}
