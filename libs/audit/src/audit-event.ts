/** Who decided what about one MCP operation, and how it went. */
export type AuditDecision = 'allow' | 'deny' | 'governed' | 'error';
export type AuditOutcome = 'ok' | 'error' | 'denied' | 'timeout' | 'cancelled';

export const AUDIT_DECISIONS: readonly AuditDecision[] = ['allow', 'deny', 'governed', 'error'];
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['ok', 'error', 'denied', 'timeout', 'cancelled'];

export interface AuditEventInput {
  /** Idempotency key (uuid); generated when absent; appending the same id twice stores one event. */
  id?: string;
  time: Date;
  tenant: string;
  user: string;
  sessionId?: string;
  server: string;
  /** MCP method, e.g. tools/call. */
  method: string;
  /** Tool name, resource uri or prompt name. */
  target?: string;
  decision: AuditDecision;
  policy?: string;
  rules?: string[];
  configVersion: string;
  intent?: string;
  outcome: AuditOutcome;
  errorMessage?: string;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  argsSummary?: string;
  resultSummary?: string;
  operationId?: string;
  /** Short notes about the event (the store adds e.g. `pii redacted: email, ssn`); covered by the chain hash. */
  notes?: string[];
}

/** A stored event: the input with its id, plus the per-tenant sequence number reserved for the hash chain. */
export interface AuditEvent extends AuditEventInput {
  id: string;
  /** Per-tenant position in the tamper-evident chain: 1, 2, 3, ... without gaps (absent only on legacy rows). */
  seq?: number;
  /** sha256 hex over `prevHash` and the canonical stored record. */
  hash?: string;
  /** The hash of the tenant's previous event (64 zeros for its first). */
  prevHash?: string;
}

/** Filters for `AuditStore.query`; every field narrows the result. Results come newest first. */
export interface AuditQuery {
  server?: string;
  tenant?: string;
  user?: string;
  decision?: AuditDecision;
  /** Inclusive lower bound on `time`. */
  since?: Date;
  /** Exclusive upper bound on `time`. */
  until?: Date;
  /** At most this many events (default 1000). */
  limit?: number;
  /** Only the events of one (governed) operation. */
  operationId?: string;
  /** Tool name, resource uri or prompt name (exact). */
  target?: string;
  outcome?: AuditOutcome;
  /** Case-insensitive substring over the fields that are never encrypted (and the others when not sealed). */
  text?: string;
  /** Continue after this point (from `encodeAuditCursor(lastEvent)`): keyset pagination on (time, id). */
  cursor?: string;
  /** `desc` (default): newest first; `asc`: oldest first (tailing). */
  order?: 'asc' | 'desc';
}
