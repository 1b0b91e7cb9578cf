// Reads the audit trail oldest first in pages, for export, reports and cost chargeback over millions of events.
import { type Repository } from 'typeorm';
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
  /** The same events a page at a time, for consumers that work in bulk (export: no promise per event). */
  pages?(): AsyncIterable<AuditEvent[]>;
}

export const DEFAULT_STREAM_BATCH = 1000;
const MAX_STREAM_BATCH = 10_000;

export interface AuditStreamSource {
  repository: Repository<AuditEventRow>;
  /** Where the database is, for error messages. */
  where: string;
  /** Opens the sealed fields of a page of events in place (async: decryption is batched per page). */
  open(events: AuditEvent[]): AuditEvent[] | Promise<AuditEvent[]>;
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
  const fail = (cause: unknown): never => {
    throw new AuditStoreUnavailableError(`reading from ${source.where} failed: ${describeCause(cause)}`, { cause });
  };
  async function* pages(): AsyncGenerator<AuditEvent[]> {
    let reader: PageReader;
    try {
      reader = pageReader(source, filter);
    } catch (cause) {
      return fail(cause);
    }
    let after: unknown[] | undefined;
    let left = filter.limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const want = Math.min(batchSize, left);
      let page: { events: AuditEvent[]; last: unknown[] | undefined };
      try {
        page = await reader.read(after, want);
      } catch (cause) {
        return fail(cause);
      }
      if (page.events.length === 0) return;
      after = page.last;
      left -= page.events.length;
      yield await source.open(page.events);
      if (page.events.length < want) return;
    }
  }
  return {
    async count() {
      try {
        const n = await applyAuditFilter(source.repository.createQueryBuilder('e'), filter).getCount();
        return filter.limit !== undefined ? Math.min(n, filter.limit) : n;
      } catch (cause) {
        return fail(cause);
      }
    },
    pages,
    async *[Symbol.asyncIterator]() {
      for await (const page of pages()) yield* page;
    },
  };
}

type ColumnMetadata = Repository<AuditEventRow>['metadata']['columns'][number];

interface PageReader {
  /** Up to `limit` events after the cursor (the last row's raw time and id; none: from the start). */
  read(after: unknown[] | undefined, limit: number): Promise<{ events: AuditEvent[]; last: unknown[] | undefined }>;
}

/** The columns read, in the order AuditEvent has its fields (JSON exports keep that order). */
const REQUIRED = [
  'id',
  'time',
  'tenant',
  'user',
  'server',
  'method',
  'decision',
  'configVersion',
  'outcome',
  'durationMs',
  'requestBytes',
  'responseBytes',
] as const;
const OPTIONAL = [
  'seq',
  'sessionId',
  'target',
  'policy',
  'rules',
  'intent',
  'errorMessage',
  'argsSummary',
  'resultSummary',
  'operationId',
  'hash',
  'prevHash',
  'notes',
] as const;
const READ_COLUMNS = [...REQUIRED, ...OPTIONAL];
/** Placeholders found again in the parameter list TypeORM builds, to bind each page's cursor there. */
const AFTER_TIME = '\u0000atom-gov:after-time';
const AFTER_ID = '\u0000atom-gov:after-id';

/**
 * The stream's SQL is built once by TypeORM (the same filter clauses as `query`, bound parameters) and then run per
 * page with the driver itself, rows as arrays: a million-row export spent more time in TypeORM's per-page query
 * building, per-column hydration and the intermediate row objects (and in collecting that garbage) than in SQLite.
 * Columns are converted here exactly as TypeORM hydrates them (the spec compares both paths on both databases).
 */
function pageReader(source: AuditStreamSource, filter: AuditQuery): PageReader {
  const { metadata, manager } = source.repository;
  const driver = manager.connection.driver;
  const column = (property: string): ColumnMetadata => {
    const found = metadata.findColumnWithPropertyName(property);
    if (!found) throw new Error(`audit_events has no column for ${property}`);
    return found;
  };
  const columns = READ_COLUMNS.map(column);
  const build = (withCursor: boolean): { sql: string; params: unknown[]; timeAt: number[]; idAt: number[] } => {
    const qb = applyAuditFilter(source.repository.createQueryBuilder('e'), filter).select(
      columns.map((c) => `e.${c.propertyPath}`),
    );
    // `time >= t AND (time > t OR id > last)` is the row-value comparison (time, id) > (t, last) written so that
    // both SQLite and PostgreSQL range-scan the time index (a row-value predicate is not sargable there).
    if (withCursor) {
      qb.andWhere('e.time >= :afterTime', { afterTime: AFTER_TIME }).andWhere(
        '(e.time > :afterTime OR e.id > :afterId)',
        { afterId: AFTER_ID },
      );
    }
    qb.orderBy('e.time', 'ASC').addOrderBy('e.id', 'ASC');
    const [sql, params] = qb.getQueryAndParameters() as [string, unknown[]];
    const at = (marker: string) => params.flatMap((p, i) => (p === marker ? [i] : []));
    const query = { sql, params, timeAt: at(AFTER_TIME), idAt: at(AFTER_ID) };
    // Without both, every page would repeat the first one: fail loudly if a TypeORM upgrade changes the binding.
    if (withCursor && (query.timeAt.length === 0 || query.idAt.length === 0)) {
      throw new Error('the page cursor parameters were not found in the generated SQL');
    }
    return query;
  };
  const first = build(false);
  const next = build(true);
  const bind = (query: typeof first, after: unknown[] | undefined, limit: number): unknown[] => {
    const params = [...query.params, limit];
    if (after) {
      for (const i of query.timeAt) params[i] = after[0];
      for (const i of query.idAt) params[i] = after[1];
    }
    return params;
  };
  const timeColumn = column('time');
  const toDate = (value: unknown): Date => {
    // pg parses timestamptz itself; SQLite keeps `YYYY-MM-DD HH:MM:SS.sss` (UTC, as TypeORM writes it): both common
    // cases without TypeORM's two regexes per row, anything else through TypeORM.
    if (value instanceof Date) return value;
    if (typeof value === 'string' && value.length === 23 && value.charCodeAt(10) === 32) {
      return new Date(`${value.slice(0, 10)}T${value.slice(11)}Z`);
    }
    return driver.prepareHydratedValue(value, timeColumn) as Date;
  };
  const decoder = (names: readonly string[]): RowDecoder => {
    // Aliases are `e_<column name>`; positions are looked up by name rather than assumed from the select order.
    const index = columns.map((c) => names.indexOf(`e_${c.databaseName}`));
    if (index.some((i) => i < 0)) throw new Error(`unexpected result columns: ${names.join(', ')}`);
    return { index, toDate };
  };

  if (manager.connection.options.type === 'better-sqlite3') {
    const db = (driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
    const firstStatement = db.prepare(`${first.sql} LIMIT ?`).raw(true);
    const nextStatement = db.prepare(`${next.sql} LIMIT ?`).raw(true);
    const rows = decoder(firstStatement.columns().map((c) => c.name));
    return {
      read(after, limit) {
        // Synchronous: a page never interleaves with other use of the shared connection.
        const page = after
          ? nextStatement.all(...bind(next, after, limit))
          : firstStatement.all(...bind(first, undefined, limit));
        return Promise.resolve(toPage(page, rows));
      },
    };
  }

  // PostgreSQL: the same keyset pages through a pooled client, rows as arrays (pg parses timestamptz to Date).
  const pg = driver as unknown as { obtainMasterConnection(): Promise<[PgClient, () => void]> };
  let rows: RowDecoder | undefined;
  return {
    async read(after, limit) {
      const query = after ? next : first;
      const [client, release] = await pg.obtainMasterConnection();
      let result: Awaited<ReturnType<PgClient['query']>>;
      try {
        result = await client.query({
          text: `${query.sql} LIMIT $${query.params.length + 1}`,
          values: bind(query, after, limit),
          rowMode: 'array',
        });
      } finally {
        release();
      }
      rows ??= decoder(result.fields.map((f) => f.name));
      return toPage(result.rows, rows);
    },
  };
}

/** The parts of better-sqlite3 and pg used here (both are the connections TypeORM already holds). */
interface SqliteDatabase {
  prepare(sql: string): {
    raw(on: boolean): { all(...params: unknown[]): unknown[][]; columns(): Array<{ name: string }> };
  };
}
interface PgClient {
  query(config: {
    text: string;
    values: unknown[];
    rowMode: 'array';
  }): Promise<{ rows: unknown[][]; fields: Array<{ name: string }> }>;
}

/** Where each READ_COLUMNS entry is in a result row, and how the time column becomes a Date. */
interface RowDecoder {
  index: number[];
  toDate(value: unknown): Date;
}

function toPage(rows: unknown[][], decoder: RowDecoder): { events: AuditEvent[]; last: unknown[] | undefined } {
  const events = new Array<AuditEvent>(rows.length);
  for (let i = 0; i < rows.length; i++) events[i] = rowToEvent(rows[i]!, decoder);
  const last = rows[rows.length - 1];
  // The cursor is the last row's time and id as the database returned them (SQLite: the stored text itself).
  return { events, last: last ? [last[decoder.index[1]!], last[decoder.index[0]!]] : undefined };
}

/**
 * One row (in READ_COLUMNS order through `index`) to the API shape, as the store's query maps TypeORM's rows:
 * NULL columns are absent fields, simple-json columns parsed, bigint seq a number. One object per event and plain
 * property writes: at a million rows every temporary shows up as garbage-collection time.
 */
function rowToEvent(row: unknown[], { index, toDate }: RowDecoder): AuditEvent {
  const event = {
    id: row[index[0]!],
    time: toDate(row[index[1]!]),
    tenant: row[index[2]!],
    user: row[index[3]!],
    server: row[index[4]!],
    method: row[index[5]!],
    decision: row[index[6]!],
    configVersion: row[index[7]!],
    outcome: row[index[8]!],
    durationMs: row[index[9]!],
    requestBytes: row[index[10]!],
    responseBytes: row[index[11]!],
  } as Record<string, unknown>;
  for (let i = REQUIRED.length; i < READ_COLUMNS.length; i++) {
    const value = row[index[i]!];
    if (value === null || value === undefined) continue;
    const key = READ_COLUMNS[i]!;
    event[key] =
      key === 'seq' ? Number(value) : JSON_COLUMNS.has(key) && typeof value === 'string' ? JSON.parse(value) : value;
  }
  return event as unknown as AuditEvent;
}

const JSON_COLUMNS = new Set<string>(['rules', 'notes']);

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
