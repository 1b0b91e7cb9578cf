import { type DataSource, type EntityManager } from 'typeorm';
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
  return new SqlQuotaStore(dataSource, driver === 'postgres', where);
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

class SqlQuotaStore implements QuotaStore {
  /** SQLite has one connection per DataSource: transactions are serialised here instead of interleaving. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly pg: boolean,
    private readonly where: string,
  ) {}

  /** `?` placeholders, rewritten to `$n` for PostgreSQL. */
  private q(manager: EntityManager, sql: string, params: unknown[]): Promise<unknown> {
    let n = 0;
    const text = this.pg ? sql.replace(/\?/g, () => `$${++n}`) : sql;
    return manager.query(text, params);
  }

  private rows<T>(result: unknown): T[] {
    // TypeORM returns rows for SELECT on both drivers; guard against driver-specific wrappers.
    return Array.isArray(result) ? (result as T[]) : [];
  }

  private tx<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.pg) {
      return this.dataSource.transaction(work).catch((cause: unknown) => {
        throw new AuditStoreUnavailableError(`quota store at ${this.where} failed: ${describeCause(cause)}`, { cause });
      });
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length === 1) this.chain = this.chain.then(() => this.drain());
    });
  }

  /** Operations waiting for the next SQLite transaction (group commit). */
  private queue: Array<{
    work: (m: EntityManager) => Promise<unknown>;
    resolve: (value: unknown) => void;
    reject: (reason: unknown) => void;
  }> = [];

  /**
   * SQLite group commit: everything queued while the previous transaction ran goes into one transaction, one
   * savepoint per operation (a failing one is rolled back alone), and one COMMIT: one WAL fsync for the batch
   * instead of one per reservation. Each caller's promise settles only after that COMMIT, so a resolved
   * reservation is durable as before.
   */
  private async drain(): Promise<void> {
    const batch = this.queue.splice(0);
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.dataSource.transaction(async (m) => {
        // Take the write lock first. A transaction that reads and then writes cannot wait for another
        // connection's write (the audit store shares the file): SQLite answers SQLITE_BUSY at once instead of
        // using the busy timeout, and every reservation under load went through the activity's retry backoff.
        await m.query(`UPDATE ${QUOTA_COUNTERS_TABLE} SET used = used WHERE 0`);
        for (const [i, op] of batch.entries()) {
          if (batch.length > 1) await m.query(`SAVEPOINT q${i}`);
          try {
            results.push({ ok: true, value: await op.work(m) });
            if (batch.length > 1) await m.query(`RELEASE q${i}`);
          } catch (error) {
            if (batch.length === 1) throw error;
            await m.query(`ROLLBACK TO q${i}`);
            await m.query(`RELEASE q${i}`);
            results.push({ ok: false, error });
          }
        }
      });
    } catch (cause) {
      const error = new AuditStoreUnavailableError(`quota store at ${this.where} failed: ${describeCause(cause)}`, {
        cause,
      });
      for (const op of batch) op.reject(error);
      return;
    }
    for (const [i, op] of batch.entries()) {
      const r = results[i];
      if (r?.ok) op.resolve(r.value);
      else
        op.reject(
          new AuditStoreUnavailableError(`quota store at ${this.where} failed: ${describeCause(r?.error)}`, {
            cause: r?.error,
          }),
        );
    }
  }

  private async findReservation(m: EntityManager, id: string): Promise<ReservationRow | undefined> {
    return this.rows<ReservationRow>(
      await this.q(m, `SELECT * FROM ${QUOTA_RESERVATIONS_TABLE} WHERE id = ?${this.pg ? ' FOR UPDATE' : ''}`, [id]),
    )[0];
  }

  private async counter(
    m: EntityManager,
    key: string,
    periodStart: number,
  ): Promise<{ used: number; alerted: number }> {
    const row = this.rows<CounterRow>(
      await this.q(
        m,
        `SELECT used, alerted FROM ${QUOTA_COUNTERS_TABLE} WHERE counter_key = ? AND period_start = ?${this.pg ? ' FOR UPDATE' : ''}`,
        [key, periodStart],
      ),
    )[0];
    return { used: Number(row?.used ?? 0), alerted: Number(row?.alerted ?? 0) };
  }

  reserve(r: QuotaReserveRequest): Promise<QuotaReserveResult> {
    if (!(r.amount >= 0) || !(r.limit >= 0))
      return Promise.reject(new RangeError('quota amount and limit must be >= 0'));
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
    return this.tx(async (m) => {
      const existing = await this.findReservation(m, r.reservationId);
      if (existing) {
        const { used } = await this.counter(
          m,
          existing.counter_key ?? r.counterKey,
          Number(existing.period_start ?? periodStart),
        );
        const live = existing.status === 'reserved' || existing.status === 'committed';
        return result(live, live ? Number(existing.amount) : 0, used);
      }
      await this.q(
        m,
        `INSERT INTO ${QUOTA_COUNTERS_TABLE} (counter_key, period_start, tenant, used, alerted) VALUES (?, ?, ?, 0, 0) ON CONFLICT DO NOTHING`,
        [r.counterKey, periodStart, r.tenant],
      );
      const { used, alerted } = await this.counter(m, r.counterKey, periodStart);
      const after = used + r.amount;
      const over = after > r.limit;
      const insert = (status: QuotaReservationRow['status'], amount: number) =>
        this.q(
          m,
          `INSERT INTO ${QUOTA_RESERVATIONS_TABLE} (id, tenant, counter_key, period_start, amount, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [r.reservationId, r.tenant, r.counterKey, periodStart, amount, status, Date.now()],
        );
      const setAlerted = (level: number) =>
        this.q(m, `UPDATE ${QUOTA_COUNTERS_TABLE} SET alerted = ? WHERE counter_key = ? AND period_start = ?`, [
          level,
          r.counterKey,
          periodStart,
        ]);
      if (over && r.enforcement === 'hard') {
        await insert('refused', 0);
        const alert = alerted < 2;
        if (alert) await setAlerted(2);
        return { ...result(false, 0, used, alert), overLimit: true };
      }
      await this.q(m, `UPDATE ${QUOTA_COUNTERS_TABLE} SET used = ? WHERE counter_key = ? AND period_start = ?`, [
        after,
        r.counterKey,
        periodStart,
      ]);
      await insert('reserved', r.amount);
      const level = over ? 2 : r.alertThreshold !== undefined && after >= r.alertThreshold * r.limit ? 1 : 0;
      const alert = level > alerted;
      if (alert) await setAlerted(level);
      return result(true, r.amount, after, alert);
    });
  }

  commit(reservationId: string, used: number): Promise<void> {
    if (!(used >= 0)) return Promise.reject(new RangeError('committed usage must be >= 0'));
    return this.tx(async (m) => {
      const row = await this.findReservation(m, reservationId);
      if (row?.status !== 'reserved') return;
      await this.q(m, `UPDATE ${QUOTA_COUNTERS_TABLE} SET used = used + ? WHERE counter_key = ? AND period_start = ?`, [
        used - Number(row.amount),
        row.counter_key,
        row.period_start,
      ]);
      await this.q(m, `UPDATE ${QUOTA_RESERVATIONS_TABLE} SET status = 'committed', amount = ? WHERE id = ?`, [
        used,
        reservationId,
      ]);
    });
  }

  release(reservationId: string): Promise<void> {
    return this.tx(async (m) => {
      const row = await this.findReservation(m, reservationId);
      if (!row) {
        await this.q(
          m,
          `INSERT INTO ${QUOTA_RESERVATIONS_TABLE} (id, tenant, counter_key, period_start, amount, status, created_at) VALUES (?, '', NULL, NULL, 0, 'released', ?)`,
          [reservationId, Date.now()],
        );
        return;
      }
      if (row.status !== 'reserved') return;
      await this.q(m, `UPDATE ${QUOTA_COUNTERS_TABLE} SET used = used - ? WHERE counter_key = ? AND period_start = ?`, [
        Number(row.amount),
        row.counter_key,
        row.period_start,
      ]);
      await this.q(m, `UPDATE ${QUOTA_RESERVATIONS_TABLE} SET status = 'released' WHERE id = ?`, [reservationId]);
    });
  }

  async usage(counterKey: string, at: Date, periodMs?: number): Promise<number> {
    return this.tx(async (m) => (await this.counter(m, counterKey, periodStartOf(at, periodMs))).used);
  }

  async reservation(reservationId: string): Promise<QuotaReservationRow | undefined> {
    return this.tx(async (m) => {
      const row = await this.findReservation(m, reservationId);
      if (!row) return undefined;
      return {
        id: row.id,
        tenant: row.tenant,
        counterKey: row.counter_key,
        periodStart: row.period_start == null ? null : Number(row.period_start),
        amount: Number(row.amount),
        status: row.status,
      };
    });
  }

  async latestCounters(): Promise<QuotaCounterRow[]> {
    try {
      const rows = this.rows<{ counter_key: string; period_start: number | string; tenant: string } & CounterRow>(
        await this.dataSource.query(
          `SELECT c.counter_key, c.period_start, c.tenant, c.used, c.alerted FROM ${QUOTA_COUNTERS_TABLE} c
           WHERE c.period_start = (SELECT MAX(l.period_start) FROM ${QUOTA_COUNTERS_TABLE} l WHERE l.counter_key = c.counter_key)`,
        ),
      );
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
    await this.chain;
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
