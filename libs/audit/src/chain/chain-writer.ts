import { randomUUID } from 'node:crypto';
import { type EntityManager } from 'typeorm';
import { AUDIT_EVENTS_TABLE, type AuditEventRow } from '../audit-event.entity.js';
import { type ChainRecord, chainHash, GENESIS_HASH } from './chain-record.js';
import { type ChainSql, numbered, type SqliteDatabase, sqliteTime } from './chain-sql.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';
import { type Checkpoint, type CheckpointReason } from './checkpoint-signer.js';

/** A tenant's chain head: the last event's seq and hash, and where the stored chain starts. */
export interface ChainHead {
  tenant: string;
  seq: number;
  hash: string;
  startSeq: number;
  startPrevHash: string;
}

export interface PurgeResult {
  tenant: string;
  /** Events deleted. */
  deleted: number;
  /** First seq that remains (head seq + 1 when none remains). */
  startSeq: number;
  /** The retention checkpoint of the last batch (each batch leaves one). */
  checkpoint?: Checkpoint;
  /** Transactions the purge took (0: nothing expired). */
  batches: number;
}

/** Signs a checkpoint for a head; the writer stores it in the same transaction as the change it covers. */
export type CheckpointSign = (unsigned: Omit<Checkpoint, 'signature' | 'keyId'>) => Checkpoint;

/** Default largest batch the SQLite writer commits on the calling thread rather than on its writer thread. */
const INLINE_MAX = 4;

/** Events deleted per purge transaction: a few tens of ms of SQLite work, then the event loop gets a turn. */
const PURGE_BATCH = 5000;

/** audit_events columns in the order the writer binds them. */
const EVENT_COLUMNS = [
  'id',
  'seq',
  'time',
  'tenant',
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
  'hash',
  'prev_hash',
  'notes',
] as const;

const PG_TYPES: Record<(typeof EVENT_COLUMNS)[number], string> = {
  id: 'uuid',
  seq: 'bigint',
  time: 'timestamptz',
  duration_ms: 'integer',
  request_bytes: 'integer',
  response_bytes: 'integer',
  tenant: 'text',
  user_name: 'text',
  session_id: 'text',
  server: 'text',
  method: 'text',
  target: 'text',
  decision: 'text',
  policy: 'text',
  rules: 'text',
  config_version: 'text',
  intent: 'text',
  outcome: 'text',
  error_message: 'text',
  args_summary: 'text',
  result_summary: 'text',
  operation_id: 'text',
  hash: 'text',
  prev_hash: 'text',
  notes: 'text',
};

const CHECKPOINT_COLUMNS =
  'id, tenant, seq, hash, start_seq, start_prev_hash, created_at, reason, key_id, signature' as const;

export function chainRecordOf(row: AuditEventRow): ChainRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    timeMs: row.time.getTime(),
    user: row.user,
    sessionId: row.sessionId,
    server: row.server,
    method: row.method,
    target: row.target,
    decision: row.decision,
    policy: row.policy,
    rulesJson: row.rules ? JSON.stringify(row.rules) : null,
    configVersion: row.configVersion,
    intent: row.intent,
    outcome: row.outcome,
    errorMessage: row.errorMessage,
    durationMs: row.durationMs,
    requestBytes: row.requestBytes,
    responseBytes: row.responseBytes,
    argsSummary: row.argsSummary,
    resultSummary: row.resultSummary,
    operationId: row.operationId,
    notesJson: row.notes ? JSON.stringify(row.notes) : null,
  };
}

function bindValues(record: ChainRecord, seq: number, hash: string, prevHash: string, time: unknown): unknown[] {
  return [
    record.id,
    seq,
    time,
    record.tenant,
    record.user,
    record.sessionId,
    record.server,
    record.method,
    record.target,
    record.decision,
    record.policy,
    record.rulesJson,
    record.configVersion,
    record.intent,
    record.outcome,
    record.errorMessage,
    record.durationMs,
    record.requestBytes,
    record.responseBytes,
    record.argsSummary,
    record.resultSummary,
    record.operationId,
    hash,
    prevHash,
    record.notesJson,
  ];
}

interface RawHead {
  tenant: string;
  seq: number | string;
  hash: string;
  start_seq: number | string;
  start_prev_hash: string;
}

function toHead(raw: RawHead): ChainHead {
  return {
    tenant: raw.tenant,
    seq: Number(raw.seq),
    hash: raw.hash,
    startSeq: Number(raw.start_seq),
    startPrevHash: raw.start_prev_hash,
  };
}

export interface RawCheckpoint {
  id: string;
  tenant: string;
  seq: number | string;
  hash: string;
  start_seq: number | string;
  start_prev_hash: string;
  created_at: string;
  reason: string;
  key_id: string;
  signature: string;
}

export function toCheckpoint(raw: RawCheckpoint): Checkpoint {
  return {
    id: raw.id,
    tenant: raw.tenant,
    seq: Number(raw.seq),
    hash: raw.hash,
    startSeq: Number(raw.start_seq),
    startPrevHash: raw.start_prev_hash,
    createdAt: raw.created_at,
    reason: raw.reason as CheckpointReason,
    keyId: raw.key_id,
    signature: raw.signature,
  };
}

function checkpointValues(c: Checkpoint): unknown[] {
  return [c.id, c.tenant, c.seq, c.hash, c.startSeq, c.startPrevHash, c.createdAt, c.reason, c.keyId, c.signature];
}

/**
 * The SQLite append transaction over one better-sqlite3 connection (the store's own, or the writer thread's):
 * BEGIN IMMEDIATE, each tenant's head read once, every new event given the next seq and its hash, heads moved.
 */
export function sqliteAppender(db: SqliteDatabase): (rows: AuditEventRow[]) => AuditEventRow[] {
  const head = db.prepare('SELECT seq, hash FROM audit_chain_heads WHERE tenant = ?');
  const insert = db.prepare(
    // Only an id already stored is ignored (its seq is then not taken); a (tenant, seq) clash still fails.
    `INSERT INTO ${AUDIT_EVENTS_TABLE} (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')}) ` +
      'ON CONFLICT (id) DO NOTHING',
  );
  const moveHead = db.prepare(
    'INSERT INTO audit_chain_heads (tenant, seq, hash, start_seq, start_prev_hash) VALUES (?, ?, ?, 1, ?) ' +
      'ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash',
  );
  const tx = db.transaction((batch: AuditEventRow[]): AuditEventRow[] => {
    const heads = new Map<string, { seq: number; hash: string }>();
    const seen = new Set<string>();
    const inserted: AuditEventRow[] = [];
    for (const row of batch) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      let h = heads.get(row.tenant);
      if (!h) {
        const stored = head.get(row.tenant) as { seq: number; hash: string } | undefined;
        h = stored ? { seq: Number(stored.seq), hash: stored.hash } : { seq: 0, hash: GENESIS_HASH };
      }
      const record = chainRecordOf(row);
      const seq = h.seq + 1;
      const hash = chainHash(h.hash, record);
      if (insert.run(...bindValues(record, seq, hash, h.hash, sqliteTime(row.time))).changes === 0) continue;
      inserted.push({ ...row, seq, hash, prevHash: h.hash });
      heads.set(row.tenant, { seq, hash });
    }
    for (const [tenant, h] of heads) moveHead.run(tenant, h.seq, h.hash, GENESIS_HASH);
    return inserted;
  });
  return (batch) => tx.immediate(batch);
}

/**
 * Appends events to their tenants' chains: one transaction per batch that locks each tenant's head row (SQLite:
 * BEGIN IMMEDIATE, the single writer lock; PostgreSQL: SELECT ... FOR UPDATE), skips ids already stored (idempotent
 * retries never take a seq), gives each new event the next seq and its hash, and moves the heads.
 */
export class ChainWriter {
  private sqliteAppendTx: ((rows: AuditEventRow[]) => AuditEventRow[]) | undefined;
  private readonly thread: SqliteWriterThread | undefined;

  private readonly inlineMax: number;

  /**
   * `sqliteThread`: write SQLite batches from a worker thread (when its compiled script is present);
   * `inlineMax`: batches of at most this many rows are written on the calling thread instead (0: never).
   */
  constructor(
    private readonly sql: ChainSql,
    opts: { sqliteThread?: { path: string; timeoutMs: number }; inlineMax?: number } = {},
  ) {
    this.inlineMax = opts.inlineMax ?? INLINE_MAX;
    if (sql.driver === 'better-sqlite3' && opts.sqliteThread) this.thread = SqliteWriterThread.start(opts.sqliteThread);
  }

  /** Returns the rows actually inserted (with seq, hash, prevHash set), in chain order. */
  async append(rows: AuditEventRow[]): Promise<AuditEventRow[]> {
    if (this.sql.driver === 'better-sqlite3') return this.appendSqlite(rows);
    return this.appendPostgres(rows);
  }

  private async appendSqlite(rows: AuditEventRow[]): Promise<AuditEventRow[]> {
    // A small batch commits on this thread (same transaction, same synchronous=FULL connection settings): the hop
    // to the writer thread and back costs two thread wake-ups, which on a busy machine take longer than the commit
    // blocks the event loop. Large batches (many concurrent calls) still go to the thread, keeping the loop free.
    this.sqliteAppendTx ??= sqliteAppender(this.sql.sqlite);
    if (!this.thread) return this.sqliteAppendTx(rows);
    if (rows.length <= this.inlineMax) {
      const inline = this.tryInline(this.sqliteAppendTx, rows);
      if (inline) return inline;
    }
    const stored = await this.thread.append(rows);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return stored.map(([id, seq, hash, prevHash]) => ({ ...byId.get(id)!, seq, hash, prevHash }));
  }

  /**
   * The inline commit must never make the event loop wait for another process's write lock (the CLI, the worker):
   * it runs with no busy timeout, and a busy database sends the batch to the writer thread, which waits there.
   * Undefined: not written, use the thread.
   */
  private tryInline(
    append: (rows: AuditEventRow[]) => AuditEventRow[],
    rows: AuditEventRow[],
  ): AuditEventRow[] | undefined {
    const db = this.sql.sqlite as SqliteDatabase & {
      pragma(sql: string, opts?: { simple: boolean }): unknown;
      inTransaction: boolean;
    };
    // Another user of this connection is inside a transaction (TypeORM awaits across one): our commit would only
    // become a savepoint of it, durable when that one commits. The writer thread's connection commits on its own.
    if (db.inTransaction) return undefined;
    const timeout = db.pragma('busy_timeout', { simple: true });
    db.pragma('busy_timeout = 0');
    try {
      return append(rows);
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return undefined;
      throw error;
    } finally {
      db.pragma(`busy_timeout = ${Number(timeout)}`);
    }
  }

  /** Where SQLite batches are written: on the writer thread, or in this thread (also always for PostgreSQL). */
  get mode(): 'thread' | 'in-process' {
    return this.thread ? 'thread' : 'in-process';
  }

  /** Stops the writer thread (after the store has drained its appends). */
  async close(): Promise<void> {
    await this.thread?.close();
  }

  private async appendPostgres(rows: AuditEventRow[]): Promise<AuditEventRow[]> {
    return this.sql.dataSource.transaction(async (manager) => {
      const tenants = [...new Set(rows.map((r) => r.tenant))].sort();
      const heads = await this.lockHeads(manager, tenants);
      const ids = [...new Set(rows.map((r) => r.id))];
      // Read after the heads are locked: a concurrent writer of the same id (same tenant) has committed by now.
      const existing = (await manager.query(`SELECT id FROM ${AUDIT_EVENTS_TABLE} WHERE id = ANY($1::uuid[])`, [
        ids,
      ])) as Array<{ id: string }>;
      const skip = new Set(existing.map((e) => e.id));
      const inserted: AuditEventRow[] = [];
      const columns: unknown[][] = EVENT_COLUMNS.map(() => []);
      for (const row of rows) {
        if (skip.has(row.id)) continue;
        skip.add(row.id);
        const h = heads.get(row.tenant)!;
        const record = chainRecordOf(row);
        const seq = h.seq + 1;
        const hash = chainHash(h.hash, record);
        bindValues(record, seq, hash, h.hash, row.time).forEach((v, i) => columns[i]!.push(v));
        inserted.push({ ...row, seq, hash, prevHash: h.hash });
        heads.set(row.tenant, { ...h, seq, hash });
      }
      if (inserted.length === 0) return inserted;
      const casts = EVENT_COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ');
      const returned = (await manager.query(
        `INSERT INTO ${AUDIT_EVENTS_TABLE} (${EVENT_COLUMNS.join(', ')}) SELECT * FROM unnest(${casts}) ` +
          'ON CONFLICT (id) DO NOTHING RETURNING id',
        columns,
      )) as unknown[];
      if (returned.length !== inserted.length) {
        // Only a writer that bypassed the chain lock could cause this; a gap-free chain matters more than the batch.
        throw new Error('some event ids were stored concurrently outside the chain lock; the batch was rolled back');
      }
      const moved = [...heads.values()];
      await manager.query(
        'UPDATE audit_chain_heads AS h SET seq = v.seq, hash = v.hash ' +
          'FROM unnest($1::text[], $2::bigint[], $3::text[]) AS v(tenant, seq, hash) WHERE h.tenant = v.tenant',
        [moved.map((h) => h.tenant), moved.map((h) => h.seq), moved.map((h) => h.hash)],
      );
      return inserted;
    });
  }

  /** Creates missing head rows, then locks the tenants' heads in name order (the same order everywhere: no deadlock). */
  private async lockHeads(manager: EntityManager, tenants: string[]): Promise<Map<string, ChainHead>> {
    await manager.query(
      'INSERT INTO audit_chain_heads (tenant, seq, hash, start_seq, start_prev_hash) ' +
        'SELECT t, 0, $2, 1, $2 FROM unnest($1::text[]) AS t ORDER BY t ON CONFLICT (tenant) DO NOTHING',
      [tenants, GENESIS_HASH],
    );
    const raw = (await manager.query(
      'SELECT tenant, seq, hash, start_seq, start_prev_hash FROM audit_chain_heads WHERE tenant = ANY($1::text[]) ' +
        'ORDER BY tenant FOR UPDATE',
      [tenants],
    )) as RawHead[];
    return new Map(raw.map((r) => [r.tenant, toHead(r)]));
  }

  async heads(tenants?: readonly string[]): Promise<ChainHead[]> {
    const all = await this.sql.all<RawHead>(
      'SELECT tenant, seq, hash, start_seq, start_prev_hash FROM audit_chain_heads ORDER BY tenant',
    );
    const heads = all.map(toHead);
    return tenants ? heads.filter((h) => tenants.includes(h.tenant)) : heads;
  }

  async insertCheckpoints(checkpoints: readonly Checkpoint[]): Promise<void> {
    if (checkpoints.length === 0) return;
    const sql = `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    if (this.sql.driver === 'better-sqlite3') {
      const insert = this.sql.statement(sql);
      this.sql.sqlite.transaction(() => checkpoints.forEach((c) => insert.run(...checkpointValues(c)))).immediate();
      return;
    }
    await this.sql.dataSource.transaction(async (manager) => {
      for (const c of checkpoints) await manager.query(numbered(sql), checkpointValues(c));
    });
  }

  async checkpoints(tenant?: string): Promise<Checkpoint[]> {
    const where = tenant === undefined ? '' : ' WHERE tenant = ?';
    const raw = await this.sql.all<RawCheckpoint>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints${where} ORDER BY tenant, seq, created_at`,
      tenant === undefined ? [] : [tenant],
    );
    return raw.map(toCheckpoint);
  }

  /**
   * Deletes each tenant's events older than `cutoff`, as a prefix of its chain (up to the first event that is not
   * expired, so the rest stays linked), in batches of `batchSize` events: each batch is one transaction that deletes
   * the oldest events, moves the chain start and stores a signed `retention` checkpoint naming the new start, so the
   * chain verifies after every batch (an interrupted purge leaves a shorter, verifying chain). Between batches the
   * event loop gets a turn: SQLite's delete is synchronous, and one transaction over a large table would block the
   * process (and hold the write lock) for seconds.
   */
  async purge(
    cutoff: Date,
    sign: CheckpointSign,
    opts: { tenant?: string; batchSize?: number; onBatch?: (result: PurgeResult) => Promise<void> } = {},
  ): Promise<PurgeResult[]> {
    const batchSize = Math.max(1, Math.floor(opts.batchSize ?? PURGE_BATCH));
    const tenants = opts.tenant !== undefined ? [opts.tenant] : (await this.heads()).map((h) => h.tenant);
    const results: PurgeResult[] = [];
    for (const t of tenants) {
      let total: PurgeResult | undefined;
      for (;;) {
        const batch =
          this.sql.driver === 'better-sqlite3'
            ? this.sql.sqlite.transaction(() => this.purgeSqlite(t, cutoff, sign, batchSize)).immediate()
            : await this.sql.dataSource.transaction((manager) =>
                this.purgePostgres(manager, t, cutoff, sign, batchSize),
              );
        if (!batch) break;
        total = total
          ? { ...batch.result, deleted: total.deleted + batch.result.deleted, batches: total.batches + 1 }
          : batch.result;
        if (batch.result.checkpoint) await opts.onBatch?.(batch.result);
        if (!batch.more) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (total) results.push(total);
    }
    return results;
  }

  /** One purge batch of a tenant; `more` when expired events remain after it. */
  private purgeSqlite(
    tenant: string,
    cutoff: Date,
    sign: CheckpointSign,
    batchSize: number,
  ): { result: PurgeResult; more: boolean } | undefined {
    const raw = this.sql
      .statement('SELECT tenant, seq, hash, start_seq, start_prev_hash FROM audit_chain_heads WHERE tenant = ?')
      .get(tenant) as RawHead | undefined;
    if (!raw) return undefined;
    const head = toHead(raw);
    const first = this.sql
      .statement(`SELECT MIN(seq) AS seq FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = ? AND time >= ?`)
      .get(tenant, sqliteTime(cutoff)) as { seq: number | null };
    const lastExpired = first.seq === null ? head.seq : Number(first.seq) - 1;
    if (lastExpired < head.startSeq) {
      return { result: { tenant, deleted: 0, startSeq: head.startSeq, batches: 0 }, more: false };
    }
    const lastPurged = Math.min(lastExpired, head.startSeq + batchSize - 1);
    const prevHash = this.startPrevHash(
      head,
      lastPurged,
      this.sql
        .statement(`SELECT hash FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = ? AND seq = ?`)
        .get(tenant, lastPurged) as { hash: string | null } | undefined,
    );
    const { changes } = this.sql
      .statement(`DELETE FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = ? AND seq <= ?`)
      .run(tenant, lastPurged);
    this.sql
      .statement('UPDATE audit_chain_heads SET start_seq = ?, start_prev_hash = ? WHERE tenant = ?')
      .run(lastPurged + 1, prevHash, tenant);
    const checkpoint = this.retentionCheckpoint(head, lastPurged + 1, prevHash, sign);
    this.sql
      .statement(`INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(...checkpointValues(checkpoint));
    return {
      result: { tenant, deleted: changes, startSeq: lastPurged + 1, checkpoint, batches: 1 },
      more: lastPurged < lastExpired,
    };
  }

  private async purgePostgres(
    manager: EntityManager,
    tenant: string,
    cutoff: Date,
    sign: CheckpointSign,
    batchSize: number,
  ): Promise<{ result: PurgeResult; more: boolean } | undefined> {
    const raw = (await manager.query(
      'SELECT tenant, seq, hash, start_seq, start_prev_hash FROM audit_chain_heads WHERE tenant = $1 FOR UPDATE',
      [tenant],
    )) as RawHead[];
    if (!raw[0]) return undefined;
    const head = toHead(raw[0]);
    const first = (await manager.query(
      `SELECT MIN(seq) AS seq FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = $1 AND time >= $2`,
      [tenant, cutoff],
    )) as Array<{ seq: string | null }>;
    const lastExpired = first[0]?.seq == null ? head.seq : Number(first[0].seq) - 1;
    if (lastExpired < head.startSeq) {
      return { result: { tenant, deleted: 0, startSeq: head.startSeq, batches: 0 }, more: false };
    }
    const lastPurged = Math.min(lastExpired, head.startSeq + batchSize - 1);
    const row = (await manager.query(`SELECT hash FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = $1 AND seq = $2`, [
      tenant,
      lastPurged,
    ])) as Array<{ hash: string | null }>;
    const prevHash = this.startPrevHash(head, lastPurged, row[0]);
    const deleted = (await manager.query(`DELETE FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = $1 AND seq <= $2`, [
      tenant,
      lastPurged,
    ])) as [unknown, number];
    await manager.query('UPDATE audit_chain_heads SET start_seq = $1, start_prev_hash = $2 WHERE tenant = $3', [
      lastPurged + 1,
      prevHash,
      tenant,
    ]);
    const checkpoint = this.retentionCheckpoint(head, lastPurged + 1, prevHash, sign);
    await manager.query(
      `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      checkpointValues(checkpoint),
    );
    return {
      result: { tenant, deleted: deleted[1], startSeq: lastPurged + 1, checkpoint, batches: 1 },
      more: lastPurged < lastExpired,
    };
  }

  /** The hash the first remaining event links to: the last purged event's (the head's when nothing remains). */
  private startPrevHash(head: ChainHead, lastPurged: number, row: { hash: string | null } | undefined): string {
    if (lastPurged === head.seq) return head.hash;
    if (!row?.hash) {
      throw new Error(
        `tenant ${head.tenant}: event seq ${lastPurged} is missing or unchained; run \`atom-gov audit verify\` before purging`,
      );
    }
    return row.hash;
  }

  private retentionCheckpoint(head: ChainHead, startSeq: number, startPrevHash: string, sign: CheckpointSign) {
    return sign({
      id: randomUUID(),
      tenant: head.tenant,
      seq: head.seq,
      hash: head.hash,
      startSeq,
      startPrevHash,
      createdAt: new Date().toISOString(),
      reason: 'retention',
    });
  }
}
