import { hash } from 'node:crypto';

/** prev_hash of a tenant's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** Version tag inside every canonical record: a future format change cannot be confused with this one. */
export const RECORD_FORMAT = 'atom-gov/audit-event/v1';

/**
 * An event exactly as stored (after redaction and encryption), in the form both the writer and the verifier
 * compute the hash over. `seq` is not part of it: the order is carried by the prev_hash links and bound to
 * positions by the signed checkpoints, so a renumbering shows as a gap or a reordering, not as a modified record.
 */
export interface ChainRecord {
  id: string;
  tenant: string;
  timeMs: number;
  user: string;
  sessionId: string | null;
  server: string;
  method: string;
  target: string | null;
  decision: string;
  policy: string | null;
  /** The stored JSON text of the rules array, or null. */
  rulesJson: string | null;
  configVersion: string;
  intent: string | null;
  outcome: string;
  errorMessage: string | null;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  argsSummary: string | null;
  resultSummary: string | null;
  operationId: string | null;
  /** The stored JSON text of the notes array, or null. */
  notesJson: string | null;
}

/** Fixed field order; JSON.stringify of an array gives one unambiguous encoding of every value. */
export function canonicalRecord(r: ChainRecord): string {
  return canonicalValues([
    r.id,
    r.tenant,
    r.timeMs,
    r.user,
    r.sessionId,
    r.server,
    r.method,
    r.target,
    r.decision,
    r.policy,
    r.rulesJson,
    r.configVersion,
    r.intent,
    r.outcome,
    r.errorMessage,
    r.durationMs,
    r.requestBytes,
    r.responseBytes,
    r.argsSummary,
    r.resultSummary,
    r.operationId,
    r.notesJson,
  ]);
}

/** Column order of the canonical record: a verifier selecting these columns can hash a row without mapping it. */
export const CANONICAL_COLUMNS = [
  'id',
  'tenant',
  'time',
  'user_name',
  'session_id',
  'server',
  'method',
  'target',
  'decision',
  'policy',
  'rules',
  'config_version',
  'intent',
  'outcome',
  'error_message',
  'duration_ms',
  'request_bytes',
  'response_bytes',
  'args_summary',
  'result_summary',
  'operation_id',
  'notes',
] as const;

/** The canonical record from values in CANONICAL_COLUMNS order (time already in epoch milliseconds). */
export function canonicalValues(values: readonly unknown[]): string {
  // Same text as JSON.stringify([RECORD_FORMAT, ...values]) without copying the array (verifier hot path).
  return `[${FORMAT_JSON},${JSON.stringify(values).slice(1)}`;
}

const FORMAT_JSON = JSON.stringify(RECORD_FORMAT);

/** sha256 hex over the previous event's hash and this event's canonical record. */
export function chainHash(prevHash: string, record: ChainRecord): string {
  return hashCanonical(prevHash, canonicalRecord(record));
}

export function hashCanonical(prevHash: string, canonical: string): string {
  // One-shot hash (Node >= 20.12): no Hash object per event.
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}

/** A row of audit_events as the drivers return it from a raw `SELECT *`. */
export interface RawChainRow {
  id: string;
  seq: number | string | null;
  time: Date | string;
  tenant: string;
  user_name: string;
  session_id: string | null;
  server: string;
  method: string;
  target: string | null;
  decision: string;
  policy: string | null;
  rules: string | null;
  config_version: string;
  intent: string | null;
  outcome: string;
  error_message: string | null;
  duration_ms: number | string;
  request_bytes: number | string;
  response_bytes: number | string;
  args_summary: string | null;
  result_summary: string | null;
  operation_id: string | null;
  notes?: string | null;
  hash?: string | null;
  prev_hash?: string | null;
}

const SQLITE_DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/;

/** Epoch milliseconds of a stored time: pg returns a Date, SQLite TypeORM's UTC text `YYYY-MM-DD HH:MM:SS.SSS`. */
export function storedTimeMs(value: Date | string): number {
  if (value instanceof Date) return value.getTime();
  return Date.parse(SQLITE_DATETIME.test(value) ? `${value.replace(' ', 'T')}Z` : value);
}

export function recordFromRaw(row: RawChainRow): ChainRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    timeMs: storedTimeMs(row.time),
    user: row.user_name,
    sessionId: row.session_id,
    server: row.server,
    method: row.method,
    target: row.target,
    decision: row.decision,
    policy: row.policy,
    rulesJson: row.rules,
    configVersion: row.config_version,
    intent: row.intent,
    outcome: row.outcome,
    errorMessage: row.error_message,
    durationMs: Number(row.duration_ms),
    requestBytes: Number(row.request_bytes),
    responseBytes: Number(row.response_bytes),
    argsSummary: row.args_summary,
    resultSummary: row.result_summary,
    operationId: row.operation_id,
    notesJson: row.notes ?? null,
  };
}
