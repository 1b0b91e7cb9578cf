import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DataSource, type Repository } from 'typeorm';
import {
  AUDIT_DECISIONS,
  AUDIT_OUTCOMES,
  type AuditEvent,
  type AuditEventInput,
  type AuditQuery,
} from './audit-event.js';
import { AUDIT_EVENT_ENTITY, type AuditDriver, type AuditEventRow } from './audit-event.entity.js';
import { AuditEventInvalidError, AuditStoreUnavailableError, describeCause } from './audit-store.errors.js';
import { createDataSource, type DataSourceOptions, driverOf, redactUrl } from './data-source.js';
import { GroupCommitter, type GroupCommitStats } from './group-commit.js';
import { type AuditHealth, overallOk } from './audit-health.js';
import { type AuditFieldCipher, type AuditRedactor } from './audit-hooks.js';
import { applyAuditFilter, checkAuditQuery, openSealedFields } from './audit-query.js';
import { type AuditEventStream, type AuditStreamOptions, streamAuditEvents } from './audit-stream.js';
import { ChainSql } from './chain/chain-sql.js';
import { verifyChain, type VerifyOptions, type VerifyReport } from './chain/chain-verifier.js';
import { ChainWriter, type PurgeResult } from './chain/chain-writer.js';
import { type CheckpointOptions, Checkpointer } from './chain/checkpointer.js';
import { type Checkpoint } from './chain/checkpoint-signer.js';
import { TrailFile } from './chain/trail-file.js';

export interface AuditStore {
  /** Resolves once the event is durable; concurrent appends share one transaction (group commit). */
  append(event: AuditEventInput): Promise<void>;
  /** Matching events, newest first. */
  query(filter: AuditQuery): Promise<AuditEvent[]>;
  /** Matching events, oldest first, read page by page (keyset on time, id): constant memory. */
  stream(filter: AuditQuery, opts?: AuditStreamOptions): AuditEventStream;
  /** Rejects with AuditStoreUnavailableError when the database does not answer. */
  ping(): Promise<void>;
  /** Writes what is pending, then releases the database. Idempotent. */
  close(): Promise<void>;
  /** Counters of the group commit, for tests, metrics and benchmarks. */
  stats(): GroupCommitStats;
  /**
   * The write path's state without reading logs: writer backlog and lag, last checkpoint time and error, trail-file
   * write error, spool state. Cheap and synchronous (call it per scrape / health check).
   */
  health(): AuditHealth;
  /** Walks the tenants' chains and checkpoints; reports each problem by kind. */
  verify(opts?: VerifyOptions): Promise<VerifyReport>;
  /** Signs the current chain heads now (all tenants, or those given); needs `checkpoints` in the options. */
  checkpoint(tenants?: readonly string[]): Promise<Checkpoint[]>;
  /**
   * Deletes events older than `cutoff` (a prefix of each tenant's chain) and leaves a signed retention checkpoint
   * at the new chain start, so what remains still verifies; needs `checkpoints` in the options. Works in batches
   * (default 5,000 events, one transaction and checkpoint each) and yields to the event loop between them.
   */
  purge(cutoff: Date, opts?: { tenant?: string; batchSize?: number }): Promise<PurgeResult[]>;
  /** The checkpoint public key (PEM), when this store signs checkpoints. */
  publicKeyPem(): string | undefined;
  readonly driver: AuditDriver;
}

export interface AuditStoreOptions extends DataSourceOptions {
  /** Seals argsSummary, resultSummary and errorMessage on append; opens them on reads. */
  cipher?: AuditFieldCipher;
  /** Removes PII from those fields before storage (before sealing and hashing). */
  redactor?: AuditRedactor;
  /** Signed checkpoints of the chain (periodic, idle, on close, retention). Without it the store signs nothing. */
  checkpoints?: CheckpointOptions;
  /** The seed's `trail_file`: append-only JSONL mirror of the chain, written after each commit in chain order. */
  trailFile?: string;
}

/** Events per transaction; a burst larger than this is written as several consecutive transactions. */
const MAX_BATCH = 2000;
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;
/** Any advisory-lock key unique to this app: serialises migrations when several processes open at once. */
const MIGRATION_LOCK_KEY = 0x41544f4d;

/** Opens (and migrates) the audit database: SQLite in WAL mode by default, PostgreSQL when `databaseUrl` is set. */
export async function openAuditStore(opts: AuditStoreOptions): Promise<AuditStore> {
  const { dataSource, driver, where } = await openDatabase(opts);
  try {
    return new TypeOrmAuditStore(dataSource, driver, where, opts);
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}

/**
 * Opens and migrates the shared database (audit events, quotas, link uses live in one schema). Every store opens
 * through here, so a database that cannot be reached or migrated fails the same way: AuditStoreUnavailableError.
 */
export async function openDatabase(
  opts: DataSourceOptions,
): Promise<{ dataSource: DataSource; driver: AuditDriver; where: string }> {
  const driver = driverOf(opts);
  const where =
    driver === 'postgres' ? `PostgreSQL at ${redactUrl(opts.databaseUrl ?? '')}` : `SQLite at ${opts.sqlitePath}`;
  const dataSource = createDataSource(opts);
  try {
    if (driver === 'better-sqlite3') mkdirSync(dirname(opts.sqlitePath), { recursive: true });
    await dataSource.initialize();
    await runMigrations(dataSource, driver);
  } catch (cause) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    throw new AuditStoreUnavailableError(`cannot open ${where}: ${describeCause(cause)}`, { cause });
  }
  return { dataSource, driver, where };
}

export async function runMigrations(dataSource: DataSource, driver: AuditDriver): Promise<void> {
  if (driver === 'better-sqlite3') {
    // The gateway, the worker and the CLI may open a new file at the same moment. BEGIN IMMEDIATE takes SQLite's
    // write lock up front (waiting up to the busy timeout), so one process migrates and the others then see it done.
    await dataSource.query('BEGIN IMMEDIATE');
    try {
      await dataSource.runMigrations({ transaction: 'none' });
      await dataSource.query('COMMIT');
    } catch (error) {
      await dataSource.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return;
  }
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}

class TypeOrmAuditStore implements AuditStore {
  private readonly repository: Repository<AuditEventRow>;
  private readonly committer: GroupCommitter<AuditEventRow>;
  private closing: Promise<void> | undefined;
  private readonly cipher: AuditFieldCipher | undefined;
  private readonly redactor: AuditRedactor | undefined;
  private readonly sql: ChainSql;
  private readonly writer: ChainWriter;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly trail: TrailFile | undefined;
  private readonly source: { sqlitePath?: string; timeoutMs?: number };

  constructor(
    private readonly dataSource: DataSource,
    readonly driver: AuditDriver,
    private readonly where: string,
    opts: AuditStoreOptions,
  ) {
    this.cipher = opts.cipher;
    this.redactor = opts.redactor;
    this.source = driver === 'better-sqlite3' ? { sqlitePath: opts.sqlitePath, timeoutMs: opts.timeoutMs ?? 5000 } : {};
    this.sql = new ChainSql(dataSource, driver);
    this.writer = new ChainWriter(
      this.sql,
      driver === 'better-sqlite3' ? { sqliteThread: { path: opts.sqlitePath, timeoutMs: opts.timeoutMs ?? 5000 } } : {},
    );
    this.checkpointer = opts.checkpoints ? new Checkpointer(this.writer, opts.checkpoints) : undefined;
    this.trail = opts.trailFile ? new TrailFile(opts.trailFile) : undefined;
    this.repository = dataSource.getRepository<AuditEventRow>(AUDIT_EVENT_ENTITY);
    this.committer = new GroupCommitter<AuditEventRow>(
      (rows) => this.insert(rows),
      (cause) =>
        cause instanceof AuditStoreUnavailableError
          ? cause
          : new AuditStoreUnavailableError(`writing to ${this.where} failed: ${describeCause(cause)}`, { cause }),
      MAX_BATCH,
    );
  }

  append(event: AuditEventInput): Promise<void> {
    if (this.closing) return Promise.reject(new AuditStoreUnavailableError('the store is closed'));
    let row: AuditEventRow;
    try {
      row = toRow(event);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (!this.redactor && !this.cipher) return this.committer.submit(row);
    return this.protect(row).then((protectedRow) => this.committer.submit(protectedRow));
  }

  /** redact -> seal, before the row is hashed: the chain covers exactly what is stored. */
  private async protect(row: AuditEventRow): Promise<AuditEventRow> {
    const kinds = new Set<string>();
    const out = { ...row };
    for (const field of ['argsSummary', 'resultSummary', 'errorMessage'] as const) {
      let value = out[field];
      if (value === null) continue;
      if (this.redactor) {
        const redacted = this.redactor.redact(value);
        value = redacted.text;
        for (const kind of redacted.kinds) kinds.add(kind);
      }
      if (this.cipher) value = await this.cipher.seal(row.tenant, value);
      out[field] = value;
    }
    if (kinds.size > 0) out.notes = [...(out.notes ?? []), `pii redacted: ${[...kinds].sort().join(', ')}`];
    return out;
  }

  verify(opts?: VerifyOptions): Promise<VerifyReport> {
    return verifyChain(
      this.sql,
      this.writer,
      { ...(this.checkpointer ? { publicKey: this.checkpointer.signer.publicKey } : {}), ...opts },
      this.source,
    );
  }

  async checkpoint(tenants?: readonly string[]): Promise<Checkpoint[]> {
    if (!this.checkpointer) throw new Error('this audit store has no signing key (open it with `checkpoints`)');
    return this.checkpointer.checkpoint('manual', tenants ?? (await this.writer.heads()).map((h) => h.tenant));
  }

  async purge(cutoff: Date, opts: { tenant?: string; batchSize?: number } = {}): Promise<PurgeResult[]> {
    const checkpointer = this.checkpointer;
    if (!checkpointer) {
      throw new Error('purging needs the checkpoint signing key, or what remains would not verify');
    }
    // Appends already queued go first, so the purge sees (and signs) a settled head.
    await this.committer.flush();
    return this.writer.purge(cutoff, (unsigned) => checkpointer.signer.sign(unsigned), {
      ...opts,
      // Each batch's retention checkpoint is mirrored as soon as it is committed.
      onBatch: async (batch) => {
        try {
          await checkpointer.mirror(batch.checkpoint ? [batch.checkpoint] : []);
          checkpointer.recorded();
        } catch (error) {
          checkpointer.recorded(error);
          throw error;
        }
      },
    });
  }

  publicKeyPem(): string | undefined {
    return this.checkpointer?.signer.publicKeyPem();
  }

  async query(filter: AuditQuery): Promise<AuditEvent[]> {
    const limit = checkAuditQuery(filter, { limit: DEFAULT_LIMIT, maxLimit: MAX_LIMIT });
    const order = filter.order === 'asc' ? 'ASC' : 'DESC';
    const qb = applyAuditFilter(this.repository.createQueryBuilder('e'), filter);
    qb.orderBy('e.time', order).addOrderBy('e.id', order).limit(limit);
    let rows: AuditEventRow[];
    try {
      rows = await qb.getMany();
    } catch (cause) {
      throw new AuditStoreUnavailableError(`reading from ${this.where} failed: ${describeCause(cause)}`, { cause });
    }
    return openSealedFields(rows.map(toEvent), this.cipher);
  }

  stream(filter: AuditQuery, opts?: AuditStreamOptions): AuditEventStream {
    return streamAuditEvents(
      {
        repository: this.repository,
        where: this.where,
        open: (events) => openSealedFields(events, this.cipher),
      },
      filter,
      opts,
    );
  }

  async ping(): Promise<void> {
    if (!this.dataSource.isInitialized) throw new AuditStoreUnavailableError('the store is closed');
    try {
      await this.dataSource.query('SELECT 1');
    } catch (cause) {
      throw new AuditStoreUnavailableError(`${this.where} does not answer: ${describeCause(cause)}`, { cause });
    }
  }

  stats(): GroupCommitStats {
    return this.committer.stats();
  }

  health(): AuditHealth {
    const backlog = this.committer.backlog();
    const checkpoints = this.checkpointer?.health;
    const trail = this.trail?.health;
    const parts: Omit<AuditHealth, 'ok'> = {
      driver: this.driver,
      writer: {
        mode: this.writer.mode,
        queued: backlog.queued,
        inFlight: backlog.inFlight,
        lagMs: Math.round(backlog.lagMs),
        ...(backlog.lastCommitLagMs !== undefined ? { lastCommitLagMs: Math.round(backlog.lastCommitLagMs) } : {}),
        ...(backlog.lastCommitAt ? { lastCommitAt: backlog.lastCommitAt } : {}),
        failedBatches: this.committer.stats().failedBatches,
        ...(backlog.lastError ? { lastError: backlog.lastError } : {}),
      },
      checkpoints: {
        enabled: checkpoints !== undefined,
        ...(checkpoints?.lastOkAt ? { lastAt: checkpoints.lastOkAt } : {}),
        failures: checkpoints?.failures ?? 0,
        ...(checkpoints?.lastError ? { lastError: checkpoints.lastError } : {}),
      },
      trailFile: {
        enabled: trail !== undefined,
        ...(this.trail ? { path: this.trail.path } : {}),
        ...(trail?.lastOkAt ? { lastWriteAt: trail.lastOkAt } : {}),
        failures: trail?.failures ?? 0,
        ...(trail?.lastError ? { lastError: trail.lastError } : {}),
      },
      spool: { state: 'off', spooled: 0 },
    };
    return { ok: overallOk(parts), ...parts };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.committer.close();
      await this.checkpointer?.close();
      await this.writer.close();
      await this.dataSource.destroy();
    })();
    return this.closing;
  }

  /**
   * One transaction per batch through the chain writer (heads locked, ids already stored skipped, seq and hash
   * assigned); then, in chain order, the trail file and the checkpoint bookkeeping.
   */
  private async insert(rows: AuditEventRow[]): Promise<void> {
    if (!this.dataSource.isInitialized) throw new AuditStoreUnavailableError('the store is closed');
    const inserted = await this.writer.append(rows);
    await this.trail?.append(inserted);
    if (this.checkpointer && inserted.length > 0) {
      const counts = new Map<string, number>();
      for (const row of inserted) counts.set(row.tenant, (counts.get(row.tenant) ?? 0) + 1);
      this.checkpointer.committed(counts);
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_INT = 2 ** 31 - 1;

/** Validates and normalises an event so that nothing in it can make the whole batch's INSERT fail. */
function toRow(e: AuditEventInput): AuditEventRow {
  const fail = (message: string): never => {
    throw new AuditEventInvalidError(`invalid audit event: ${message}`);
  };
  if (e.id !== undefined && !UUID.test(e.id)) fail(`id must be a UUID, got ${JSON.stringify(e.id)}`);
  if (!(e.time instanceof Date) || Number.isNaN(e.time.getTime())) fail('time must be a valid Date');
  const required = (name: keyof AuditEventInput): string => {
    const value = e[name];
    if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`);
    return clean(value as string);
  };
  const optional = (name: keyof AuditEventInput): string | null => {
    const value = e[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') fail(`${name} must be a string when given`);
    return clean(value as string);
  };
  const count = (name: 'durationMs' | 'requestBytes' | 'responseBytes'): number => {
    const value = e[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_INT) {
      fail(`${name} must be a number between 0 and ${MAX_INT}, got ${String(value)}`);
    }
    // Durations come from performance.now() with fractions; the column holds whole milliseconds.
    return Math.round(value);
  };
  if (!AUDIT_DECISIONS.includes(e.decision)) fail(`decision must be one of ${AUDIT_DECISIONS.join(', ')}`);
  if (!AUDIT_OUTCOMES.includes(e.outcome)) fail(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
  if (e.rules !== undefined && (!Array.isArray(e.rules) || e.rules.some((r) => typeof r !== 'string'))) {
    fail('rules must be an array of strings');
  }
  if (e.notes !== undefined && (!Array.isArray(e.notes) || e.notes.some((n) => typeof n !== 'string'))) {
    fail('notes must be an array of strings');
  }
  return {
    id: (e.id ?? randomUUID()).toLowerCase(),
    seq: null,
    time: e.time,
    tenant: required('tenant'),
    user: required('user'),
    sessionId: optional('sessionId'),
    server: required('server'),
    method: required('method'),
    target: optional('target'),
    decision: e.decision,
    policy: optional('policy'),
    rules: e.rules ? e.rules.map(clean) : null,
    configVersion: required('configVersion'),
    intent: optional('intent'),
    outcome: e.outcome,
    errorMessage: optional('errorMessage'),
    durationMs: count('durationMs'),
    requestBytes: count('requestBytes'),
    responseBytes: count('responseBytes'),
    argsSummary: optional('argsSummary'),
    resultSummary: optional('resultSummary'),
    operationId: optional('operationId'),
    hash: null,
    prevHash: null,
    notes: e.notes ? e.notes.map(clean) : null,
  };
}

/**
 * PostgreSQL text cannot hold NUL; one such character must not fail everyone's batch. Lone UTF-16 surrogates
 * cannot be stored as UTF-8 either: replaced here, so the chain hashes exactly what the database keeps.
 */
function clean(value: string): string {
  const text = value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE_ALL, '\uFFFD') : text;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g');

/** Maps a row back to the API shape: NULL columns become absent fields. */
function toEvent(row: AuditEventRow): AuditEvent {
  const event: AuditEvent = {
    id: row.id,
    time: row.time,
    tenant: row.tenant,
    user: row.user,
    server: row.server,
    method: row.method,
    decision: row.decision as AuditEvent['decision'],
    configVersion: row.configVersion,
    outcome: row.outcome as AuditEvent['outcome'],
    durationMs: row.durationMs,
    requestBytes: row.requestBytes,
    responseBytes: row.responseBytes,
  };
  const optional = {
    seq: row.seq,
    sessionId: row.sessionId,
    target: row.target,
    policy: row.policy,
    rules: row.rules,
    intent: row.intent,
    errorMessage: row.errorMessage,
    argsSummary: row.argsSummary,
    resultSummary: row.resultSummary,
    operationId: row.operationId,
    hash: row.hash,
    prevHash: row.prevHash,
    notes: row.notes,
  };
  // Plain property writes, no entries arrays or temporary objects: a million-event export spent more time here
  // (and in collecting that garbage) than in reading the rows.
  for (const key in optional) {
    const value = optional[key as keyof typeof optional];
    if (value !== null && value !== undefined) (event as unknown as Record<string, unknown>)[key] = value;
  }
  return event;
}
