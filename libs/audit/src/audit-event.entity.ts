import { EntitySchema } from 'typeorm';

/** Drivers the store runs on: SQLite (embedded default) and PostgreSQL. */
export type AuditDriver = 'better-sqlite3' | 'postgres';

/** One row of `audit_events`, as TypeORM maps it (nullable columns are null, not undefined). */
export interface AuditEventRow {
  id: string;
  seq: number | null;
  time: Date;
  tenant: string;
  user: string;
  sessionId: string | null;
  server: string;
  method: string;
  target: string | null;
  decision: string;
  policy: string | null;
  rules: string[] | null;
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
  /** sha256 hex over prevHash and the canonical stored record (chain/chain-record.ts). */
  hash: string | null;
  prevHash: string | null;
  /** Short notes about how the event was stored, e.g. `pii redacted: email`. */
  notes: string[] | null;
}

export const AUDIT_EVENT_ENTITY = 'AuditEvent';
export const AUDIT_EVENTS_TABLE = 'audit_events';

/**
 * The entity is built per driver because the two have no timestamp type in common (timestamptz vs datetime);
 * the table itself is created by the migrations, never by `synchronize`.
 */
export function auditEventSchema(driver: AuditDriver): EntitySchema<AuditEventRow> {
  const pg = driver === 'postgres';
  const text = (name: string, nullable = true) => ({ type: 'text' as const, name, nullable });
  return new EntitySchema<AuditEventRow>({
    name: AUDIT_EVENT_ENTITY,
    tableName: AUDIT_EVENTS_TABLE,
    columns: {
      id: { type: pg ? 'uuid' : 'varchar', primary: true },
      // bigint comes back from pg as a string; the chain's sequence numbers fit a JS number.
      seq: {
        type: 'bigint',
        nullable: true,
        transformer: { to: (v: unknown) => v, from: (v: unknown) => (v == null ? null : Number(v)) },
      },
      time: { type: pg ? 'timestamptz' : 'datetime' },
      tenant: text('tenant', false),
      // `user` is a reserved word in PostgreSQL (a bare `SELECT user` returns the session user).
      user: text('user_name', false),
      sessionId: text('session_id'),
      server: text('server', false),
      method: text('method', false),
      target: text('target'),
      decision: text('decision', false),
      policy: text('policy'),
      rules: { type: 'simple-json', name: 'rules', nullable: true },
      configVersion: text('config_version', false),
      intent: text('intent'),
      outcome: text('outcome', false),
      errorMessage: text('error_message'),
      durationMs: { type: 'integer', name: 'duration_ms' },
      requestBytes: { type: 'integer', name: 'request_bytes' },
      responseBytes: { type: 'integer', name: 'response_bytes' },
      argsSummary: text('args_summary'),
      resultSummary: text('result_summary'),
      operationId: text('operation_id'),
      hash: text('hash'),
      prevHash: text('prev_hash'),
      notes: { type: 'simple-json', name: 'notes', nullable: true },
    },
  });
}
