import { type DataSource } from 'typeorm';
import { AuditStoreUnavailableError, describeCause } from './audit-store.errors.js';
import { openDatabase } from './audit-store.service.js';
import { type DataSourceOptions } from './data-source.js';
import {
  QUOTA_COUNTERS_TABLE,
  QUOTA_RESERVATIONS_TABLE,
  type QuotaCounterRow,
  type QuotaReservationRow,
} from './quota.entity.js';

export interface QuotaReserveRequest {
  reservationId: string;
  tenant: string;
  /** Identifies the counter within the tenant: scope, scope key, rule and resource. */
  counterKey: string;
  limit: number;
  /** Fixed window length; undefined: one lifetime counter. */
  periodMs?: number;
  amount: number;
  enforcement: 'hard' | 'soft' | 'warn';
  /** Fraction (0..1] of the limit at which to alert once per period. */
  alertThreshold?: number;
  at: Date;
}

export interface QuotaReserveResult {
  granted: boolean;
  reserved: number;
  /** Usage of the period after this reservation (before it, when refused). */
  used: number;
  limit: number;
  overLimit: boolean;
  /** First crossing of the alert threshold (or of the limit) this period. */
  alert: boolean;
  periodStart: Date;
}

/** Quota counters with idempotent reservations: the store behind the governed-operation saga's activities. */
export interface QuotaStore {
  /** Same id twice returns the first answer; an id already released (tombstone) is refused. */
  reserve(request: QuotaReserveRequest): Promise<QuotaReserveResult>;
  /** reserved -> committed with the actual usage; anything else is left as is. */
  commit(reservationId: string, used: number): Promise<void>;
  /** reserved -> released (usage given back); an unknown id becomes a tombstone. */
  release(reservationId: string): Promise<void>;
  /** Current usage of a counter's period containing `at` (0 when untouched). */
  usage(counterKey: string, at: Date, periodMs?: number): Promise<number>;
  reservation(reservationId: string): Promise<QuotaReservationRow | undefined>;
  /** Read-only: each counter's latest period (metrics read it at scrape time; no write lock, no transaction). */
  latestCounters(): Promise<QuotaCounterRow[]>;
  close(): Promise<void>;
}

/** Opens (and migrates) the shared database for quota counters: SQLite by default, PostgreSQL with `databaseUrl`. */
export async function openQuotaStore(opts: DataSourceOptions): Promise<QuotaStore> {
  const { dataSource, driver, where } = await openDatabase(opts);
  const connection = dataSource.driver as unknown as {
    databaseConnection: SqliteDatabase;
    obtainMasterConnection(): Promise<[PgClient, (error?: unknown) => void]>;
  };
  const executor =
    driver === 'postgres'
      ? new PgExecutor(() => connection.obtainMasterConnection())
      : new SqliteExecutor(connection.databaseConnection);
  return new SqlQuotaStore(dataSource, executor, where);
}

export function periodStartOf(at: Date, periodMs: number | undefined): number {
  if (periodMs === undefined || periodMs <= 0) return 0;
  return Math.floor(at.getTime() / periodMs) * periodMs;
}

interface CounterRow {
  used: number | string;
  alerted: number | string;
}
interface ReservationRow {
  id: string;
  tenant: string;
  counter_key: string | null;
  period_start: number | string | null;
  amount: number | string;
  status: QuotaReservationRow['status'];
}

// ---------------------------------------------------------------------------------------------------------------
// The hot path on the drivers TypeORM already holds (better-sqlite3 / pg), with statements prepared once, instead of
// TypeORM's query runner per statement: each operation is a generator of statements, so the semantics below are
// written once and run synchronously on SQLite (a whole group-commit batch in one go) and awaited on PostgreSQL.

/** The statements of the hot path: `?` placeholders (SQLite), rewritten to `$n` and locking rows on PostgreSQL. */
const SQL = {
  findReservation: { sql: `SELECT * FROM ${QUOTA_RESERVATIONS_TABLE} WHERE id = ?`, lock: true },
  counter: {
    sql: `SELECT used, alerted FROM ${QUOTA_COUNTERS_TABLE} WHERE counter_key = ? AND period_start = ?`,
    lock: true,
  },
  ensureCounter: {
    sql: `INSERT INTO ${QUOTA_COUNTERS_TABLE} (counter_key, period_start, tenant, used, alerted) VALUES (?, ?, ?, 0, 0) ON CONFLICT DO NOTHING`,
  },
  insertReservation: {
    sql: `INSERT INTO ${QUOTA_RESERVATIONS_TABLE} (id, tenant, counter_key, period_start, amount, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  },
  insertTombstone: {
    sql: `INSERT INTO ${QUOTA_RESERVATIONS_TABLE} (id, tenant, counter_key, period_start, amount, status, created_at) VALUES (?, '', NULL, NULL, 0, 'released', ?)`,
  },
  setAlerted: { sql: `UPDATE ${QUOTA_COUNTERS_TABLE} SET alerted = ? WHERE counter_key = ? AND period_start = ?` },
  setUsed: { sql: `UPDATE ${QUOTA_COUNTERS_TABLE} SET used = ? WHERE counter_key = ? AND period_start = ?` },
  addUsed: { sql: `UPDATE ${QUOTA_COUNTERS_TABLE} SET used = used + ? WHERE counter_key = ? AND period_start = ?` },
  subtractUsed: {
    sql: `UPDATE ${QUOTA_COUNTERS_TABLE} SET used = used - ? WHERE counter_key = ? AND period_start = ?`,
  },
  commitReservation: { sql: `UPDATE ${QUOTA_RESERVATIONS_TABLE} SET status = 'committed', amount = ? WHERE id = ?` },
  releaseReservation: { sql: `UPDATE ${QUOTA_RESERVATIONS_TABLE} SET status = 'released' WHERE id = ?` },
} as const satisfies Record<string, { sql: string; lock?: boolean }>;
type StatementName = keyof typeof SQL;

/** One statement of an operation: `get` answers the first row (or undefined), `run` nothing. */
interface Step {
  kind: 'get' | 'run';
  name: StatementName;
  params: unknown[];
}
/** An operation inside one transaction: yields statements, receives each `get`'s row. */
type Operation<T> = Generator<Step, T, unknown>;

const get = (name: StatementName, ...params: unknown[]): Step => ({ kind: 'get', name, params });
const run = (name: StatementName, ...params: unknown[]): Step => ({ kind: 'run', name, params });

function* findReservation(id: string): Generator<Step, ReservationRow | undefined, unknown> {
  return (yield get('findReservation', id)) as ReservationRow | undefined;
}

function* counter(key: string, periodStart: number): Generator<Step, { used: number; alerted: number }, unknown> {
  const row = (yield get('counter', key, periodStart)) as CounterRow | undefined;
  return { used: Number(row?.used ?? 0), alerted: Number(row?.alerted ?? 0) };
}

function* reserveOp(r: QuotaReserveRequest): Operation<QuotaReserveResult> {
  const periodStart = periodStartOf(r.at, r.periodMs);
  const result = (granted: boolean, reserved: number, used: number, alert = false): QuotaReserveResult => ({
    granted,
    reserved,
    used,
    limit: r.limit,
    overLimit: used > r.limit,
    alert,
    periodStart: new Date(periodStart),
  });
  const existing = yield* findReservation(r.reservationId);
  if (existing) {
    const { used } = yield* counter(existing.counter_key ?? r.counterKey, Number(existing.period_start ?? periodStart));
    const live = existing.status === 'reserved' || existing.status === 'committed';
    return result(live, live ? Number(existing.amount) : 0, used);
  }
  yield run('ensureCounter', r.counterKey, periodStart, r.tenant);
  const { used, alerted } = yield* counter(r.counterKey, periodStart);
  const after = used + r.amount;
  const over = after > r.limit;
  if (over && r.enforcement === 'hard') {
    yield run('insertReservation', r.reservationId, r.tenant, r.counterKey, periodStart, 0, 'refused', Date.now());
    const alert = alerted < 2;
    if (alert) yield run('setAlerted', 2, r.counterKey, periodStart);
    return { ...result(false, 0, used, alert), overLimit: true };
  }
  yield run('setUsed', after, r.counterKey, periodStart);
  yield run(
    'insertReservation',
    r.reservationId,
    r.tenant,
    r.counterKey,
    periodStart,
    r.amount,
    'reserved',
    Date.now(),
  );
  const level = over ? 2 : r.alertThreshold !== undefined && after >= r.alertThreshold * r.limit ? 1 : 0;
  const alert = level > alerted;
  if (alert) yield run('setAlerted', level, r.counterKey, periodStart);
  return result(true, r.amount, after, alert);
}

function* commitOp(reservationId: string, used: number): Operation<void> {
  const row = yield* findReservation(reservationId);
  if (row?.status !== 'reserved') return;
  yield run('addUsed', used - Number(row.amount), row.counter_key, row.period_start);
  yield run('commitReservation', used, reservationId);
}

function* releaseOp(reservationId: string): Operation<void> {
  const row = yield* findReservation(reservationId);
  if (!row) {
    yield run('insertTombstone', reservationId, Date.now());
    return;
  }
  if (row.status !== 'reserved') return;
  yield run('subtractUsed', Number(row.amount), row.counter_key, row.period_start);
  yield run('releaseReservation', reservationId);
}

function* usageOp(counterKey: string, periodStart: number): Operation<number> {
  return (yield* counter(counterKey, periodStart)).used;
}

function* reservationOp(reservationId: string): Operation<QuotaReservationRow | undefined> {
  const row = yield* findReservation(reservationId);
  if (!row) return undefined;
  return {
    id: row.id,
    tenant: row.tenant,
    counterKey: row.counter_key,
    periodStart: row.period_start == null ? null : Number(row.period_start),
    amount: Number(row.amount),
    status: row.status,
  };
}

/** Runs operations, each in a transaction (or a savepoint of a shared one); rejects with the driver's error. */
interface Executor {
  /** `op` makes the operation's statements afresh (PostgreSQL may run it a second time, see PgExecutor). */
  execute<T>(op: () => Operation<T>): Promise<T>;
  /** Settles once every operation handed over so far has. */
  idle(): Promise<void>;
}

/** The parts of better-sqlite3 used here (the connection TypeORM already holds). */
interface SqliteDatabase {
  prepare(sql: string): {
    get(...params: unknown[]): unknown;
    run(...params: unknown[]): unknown;
  };
  readonly inTransaction: boolean;
}

/**
 * SQLite group commit: operations handed over until the event loop's check phase go into one transaction, one
 * savepoint per operation (a failing one is rolled back alone), and one COMMIT: one WAL fsync for the batch instead
 * of one per reservation. The batch runs synchronously (better-sqlite3), so nothing interleaves with it on this
 * connection. Each caller's promise settles only after that COMMIT, so a resolved reservation is durable.
 */
class SqliteExecutor implements Executor {
  private readonly statements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  private queue: Array<{ op: Operation<unknown>; resolve(value: unknown): void; reject(reason: unknown): void }> = [];
  private scheduled: Promise<void> | undefined;

  constructor(private readonly db: SqliteDatabase) {}

  private statement(sql: string): ReturnType<SqliteDatabase['prepare']> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  execute<T>(op: () => Operation<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op: op(), resolve: resolve as (value: unknown) => void, reject });
      this.scheduled ??= new Promise<void>((done) =>
        setImmediate(() => {
          this.scheduled = undefined;
          this.drain();
          done();
        }),
      );
    });
  }

  idle(): Promise<void> {
    return this.scheduled ?? Promise.resolve();
  }

  private runOp<T>(op: Operation<T>): T {
    let step = op.next();
    while (!step.done) {
      const { kind, name, params } = step.value;
      const statement = this.statement(SQL[name].sql);
      step = op.next(kind === 'get' ? statement.get(...params) : (statement.run(...params), undefined));
    }
    return step.value;
  }

  private drain(): void {
    const batch = this.queue;
    this.queue = [];
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const single = batch.length === 1;
    try {
      // Take the write lock first. A transaction that reads and then writes cannot wait for another connection's
      // write (the audit store shares the file): SQLite answers SQLITE_BUSY at once instead of using the busy
      // timeout. BEGIN IMMEDIATE waits for the lock (busy timeout) before the first read.
      this.statement('BEGIN IMMEDIATE').run();
      try {
        for (const [i, { op }] of batch.entries()) {
          if (!single) this.statement(`SAVEPOINT q${i}`).run();
          try {
            results.push({ ok: true, value: this.runOp(op) });
            if (!single) this.statement(`RELEASE q${i}`).run();
          } catch (error) {
            if (single) throw error;
            this.statement(`ROLLBACK TO q${i}`).run();
            this.statement(`RELEASE q${i}`).run();
            results.push({ ok: false, error });
          }
        }
        this.statement('COMMIT').run();
      } catch (error) {
        if (this.db.inTransaction) this.statement('ROLLBACK').run();
        throw error;
      }
    } catch (error) {
      for (const { reject } of batch) reject(error);
      return;
    }
    for (const [i, { resolve, reject }] of batch.entries()) {
      const r = results[i]!;
      if (r.ok) resolve(r.value);
      else reject(r.error);
    }
  }
}

/** The parts of pg used here (pooled clients of the pool TypeORM already holds). */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  query(text: string): Promise<unknown>;
}

/** PostgreSQL's SQLSTATE for a duplicate key. */
const UNIQUE_VIOLATION = '23505';

/** PostgreSQL: each operation in its own transaction on a pooled client, row locks, named prepared statements. */
class PgExecutor implements Executor {
  /** Statement texts with `$n` placeholders and row locks, by name (prepared once per pooled connection). */
  private readonly texts = new Map<StatementName, string>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly connect: () => Promise<[PgClient, (error?: unknown) => void]>) {
    for (const [name, { sql, lock }] of Object.entries(SQL) as Array<
      [StatementName, { sql: string; lock?: boolean }]
    >) {
      let n = 0;
      this.texts.set(name, `${sql.replace(/\?/g, () => `$${++n}`)}${lock ? ' FOR UPDATE' : ''}`);
    }
  }

  execute<T>(op: () => Operation<T>): Promise<T> {
    // The same id reserved by two transactions at once: both find no row (FOR UPDATE locks nothing yet) and the
    // second INSERT violates the primary key once the first commits. Run again, it finds the first's row and
    // answers as the first did (the idempotency SQLite gets from running a batch in order).
    const work = this.transaction(op()).catch((error: unknown) => {
      if ((error as { code?: unknown } | null)?.code !== UNIQUE_VIOLATION) throw error;
      return this.transaction(op());
    });
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async transaction<T>(op: Operation<T>): Promise<T> {
    const [client, release] = await this.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      try {
        let step = op.next();
        while (!step.done) {
          const { kind, name, params } = step.value;
          const { rows } = await client.query({
            name: `atom_gov_quota_${name}`,
            text: this.texts.get(name)!,
            values: params,
          });
          step = op.next(kind === 'get' ? rows[0] : undefined);
        }
        await client.query('COMMIT');
        return step.value;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError; // the connection is unusable: the pool drops it instead of lending it again
        });
        throw error;
      }
    } finally {
      release(broken);
    }
  }
}

class SqlQuotaStore implements QuotaStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly executor: Executor,
    private readonly where: string,
  ) {}

  private tx<T>(op: () => Operation<T>): Promise<T> {
    return this.executor.execute(op).catch((cause: unknown) => {
      throw new AuditStoreUnavailableError(`quota store at ${this.where} failed: ${describeCause(cause)}`, { cause });
    });
  }

  reserve(r: QuotaReserveRequest): Promise<QuotaReserveResult> {
    if (!(r.amount >= 0) || !(r.limit >= 0))
      return Promise.reject(new RangeError('quota amount and limit must be >= 0'));
    return this.tx(() => reserveOp(r));
  }

  commit(reservationId: string, used: number): Promise<void> {
    if (!(used >= 0)) return Promise.reject(new RangeError('committed usage must be >= 0'));
    return this.tx(() => commitOp(reservationId, used));
  }

  release(reservationId: string): Promise<void> {
    return this.tx(() => releaseOp(reservationId));
  }

  usage(counterKey: string, at: Date, periodMs?: number): Promise<number> {
    return this.tx(() => usageOp(counterKey, periodStartOf(at, periodMs)));
  }

  reservation(reservationId: string): Promise<QuotaReservationRow | undefined> {
    return this.tx(() => reservationOp(reservationId));
  }

  async latestCounters(): Promise<QuotaCounterRow[]> {
    try {
      const result: unknown = await this.dataSource.query(
        `SELECT c.counter_key, c.period_start, c.tenant, c.used, c.alerted FROM ${QUOTA_COUNTERS_TABLE} c
         WHERE c.period_start = (SELECT MAX(l.period_start) FROM ${QUOTA_COUNTERS_TABLE} l WHERE l.counter_key = c.counter_key)`,
      );
      // TypeORM returns rows for SELECT on both drivers; guard against driver-specific wrappers.
      const rows = Array.isArray(result)
        ? (result as Array<{ counter_key: string; period_start: number | string; tenant: string } & CounterRow>)
        : [];
      return rows.map((r) => ({
        counterKey: r.counter_key,
        periodStart: Number(r.period_start),
        tenant: r.tenant,
        used: Number(r.used),
        alerted: Number(r.alerted),
      }));
    } catch (cause) {
      throw new AuditStoreUnavailableError(`quota store at ${this.where} failed: ${describeCause(cause)}`, { cause });
    }
  }

  async close(): Promise<void> {
    await this.executor.idle();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
