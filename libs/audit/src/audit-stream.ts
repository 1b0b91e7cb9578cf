// Reads the audit trail oldest first in pages, for export, reports and cost chargeback over millions of events.
import { type Repository, type SelectQueryBuilder } from 'typeorm';
import { AUDIT_DECISIONS, type AuditEvent, type AuditQuery } from './audit-event.js';
import { type AuditEventRow } from './audit-event.entity.js';
import { applyAuditFilter } from './audit-query.js';
import { AuditEventInvalidError, AuditStoreUnavailableError, describeCause } from './audit-store.errors.js';

export interface AuditStreamOptions {
  /** Rows fetched per query (default 1000, at most 10,000): the memory bound of the stream. */
  batchSize?: number;
}

/** Events oldest first; also answers how many events the filter matches (for progress bars). */
export interface AuditEventStream extends AsyncIterable<AuditEvent> {
  count(): Promise<number>;
}

export const DEFAULT_STREAM_BATCH = 1000;
const MAX_STREAM_BATCH = 10_000;

export interface AuditStreamSource {
  repository: Repository<AuditEventRow>;
  /** Where the database is, for error messages. */
  where: string;
  /** Row to event; a page at a time so that decryption can be batched (async allowed). */
  toEvents(rows: AuditEventRow[]): AuditEvent[] | Promise<AuditEvent[]>;
}

/**
 * Keyset pagination on (time, id): each page starts strictly after the last row of the previous one, so no page
 * re-reads or skips rows however deep the stream is (OFFSET would re-scan), and the cursor is two values, so memory
 * stays at one page. Events appended while the stream runs are included when they sort after the cursor.
 * `filter.limit` caps the total (unset: every matching event).
 */
export function streamAuditEvents(
  source: AuditStreamSource,
  filter: AuditQuery,
  opts: AuditStreamOptions = {},
): AuditEventStream {
  checkStream(filter, opts);
  const batchSize = opts.batchSize ?? DEFAULT_STREAM_BATCH;
  const base = (): SelectQueryBuilder<AuditEventRow> =>
    applyAuditFilter(source.repository.createQueryBuilder('e'), filter);
  const fail = (cause: unknown): never => {
    throw new AuditStoreUnavailableError(`reading from ${source.where} failed: ${describeCause(cause)}`, { cause });
  };
  const fetchPage = pageReader(source);
  return {
    async count() {
      try {
        const n = await base().getCount();
        return filter.limit !== undefined ? Math.min(n, filter.limit) : n;
      } catch (cause) {
        return fail(cause);
      }
    },
    async *[Symbol.asyncIterator]() {
      let after: { time: Date; id: string } | undefined;
      let left = filter.limit ?? Number.POSITIVE_INFINITY;
      while (left > 0) {
        const qb = base();
        // `time >= t AND (time > t OR id > last)` is the row-value comparison (time, id) > (t, last) written so
        // that both SQLite and PostgreSQL range-scan the time index (a row-value predicate is not sargable there).
        if (after) {
          qb.andWhere('e.time >= :afterTime', { afterTime: after.time }).andWhere(
            '(e.time > :afterTime OR e.id > :afterId)',
            { afterId: after.id },
          );
        }
        qb.orderBy('e.time', 'ASC').addOrderBy('e.id', 'ASC').limit(Math.min(batchSize, left));
        let rows: AuditEventRow[];
        try {
          rows = await fetchPage(qb);
        } catch (cause) {
          return fail(cause);
        }
        if (rows.length === 0) return;
        const last = rows[rows.length - 1]!;
        after = { time: last.time, id: last.id };
        left -= rows.length;
        const events = await source.toEvents(rows);
        for (const event of events) yield event;
        if (rows.length < batchSize) return;
      }
    },
  };
}

/**
 * Runs a page's query and hydrates rows exactly as TypeORM would (each column through the driver's
 * prepareHydratedValue, which also applies column transformers), minus the entity transformer's per-row cost,
 * which dominated a million-row export. On SQLite the rows come as arrays from better-sqlite3's raw mode: building
 * a 25-key object per row there cost more than reading it.
 */
function pageReader(source: AuditStreamSource): (qb: SelectQueryBuilder<AuditEventRow>) => Promise<AuditEventRow[]> {
  const { metadata, manager } = source.repository;
  const driver = manager.connection.driver;
  const columns = metadata.columns;
  const selection = columns.map((c) => `e.${c.propertyPath}`);
  const aliases = columns.map((c) => `e_${c.databaseName}`);
  // Plain loops, no per-row closures: at a million rows the allocations show up as garbage-collection time.
  const fromArray = (values: unknown[]): AuditEventRow => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      row[column.propertyName] = driver.prepareHydratedValue(values[i], column);
    }
    return row as unknown as AuditEventRow;
  };
  const fromObject = (values: Record<string, unknown>): AuditEventRow => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      row[column.propertyName] = driver.prepareHydratedValue(values[aliases[i]!], column);
    }
    return row as unknown as AuditEventRow;
  };
  const sqlite = (driver as { databaseConnection?: unknown }).databaseConnection as
    { prepare(sql: string): { raw(on: boolean): { all(...params: unknown[]): unknown[][] } } } | undefined;
  const statements = new Map<string, { all(...params: unknown[]): unknown[][] }>();
  return async (qb) => {
    const [sql, params] = qb.select(selection).getQueryAndParameters();
    if (manager.connection.options.type === 'better-sqlite3' && sqlite && typeof sqlite.prepare === 'function') {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql).raw(true);
        statements.set(sql, statement);
      }
      return statement.all(...(params as unknown[])).map(fromArray);
    }
    const raw = (await manager.query(sql, params)) as Array<Record<string, unknown>>;
    return raw.map(fromObject);
  };
}

function checkStream(filter: AuditQuery, opts: AuditStreamOptions): void {
  const fail = (message: string): never => {
    throw new AuditEventInvalidError(`invalid audit stream: ${message}`);
  };
  const size = opts.batchSize ?? DEFAULT_STREAM_BATCH;
  if (!Number.isInteger(size) || size < 1 || size > MAX_STREAM_BATCH) {
    fail(`batchSize must be an integer from 1 to ${MAX_STREAM_BATCH}, got ${String(opts.batchSize)}`);
  }
  if (filter.decision !== undefined && !AUDIT_DECISIONS.includes(filter.decision)) {
    fail(`decision must be one of ${AUDIT_DECISIONS.join(', ')}`);
  }
  for (const key of ['since', 'until'] as const) {
    const value = filter[key];
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime())))
      fail(`${key} must be a valid Date`);
  }
  if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 1)) {
    fail('limit must be a positive integer when given');
  }
}
