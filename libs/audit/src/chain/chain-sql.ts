import { type DataSource, type EntityManager } from 'typeorm';
import { type AuditDriver } from '../audit-event.entity.js';

/** The better-sqlite3 calls this package uses (typed here so the driver's internals stay out of the types). */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): { immediate(...args: A): R };
}

/**
 * The chain's SQL runs on both drivers. On SQLite it goes straight to better-sqlite3 (prepared statements,
 * synchronous, BEGIN IMMEDIATE), which is several times faster than through TypeORM and takes the write lock
 * before reading the chain head, so another process cannot slip in between.
 */
export class ChainSql {
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(
    readonly dataSource: DataSource,
    readonly driver: AuditDriver,
  ) {}

  get sqlite(): SqliteDatabase {
    return (this.dataSource.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
  }

  statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** SQLite rows as arrays (no per-row objects): the verifier's hot path. */
  rawStatement(sql: string): SqliteStatement {
    const key = `raw:${sql}`;
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      (statement as SqliteStatement & { raw(on: boolean): unknown }).raw(true);
      this.statements.set(key, statement);
    }
    return statement;
  }

  /** Rows of a read; `?` placeholders on both drivers. */
  async all<T>(sql: string, params: unknown[] = [], manager?: EntityManager): Promise<T[]> {
    if (this.driver === 'better-sqlite3') return this.statement(sql).all(...params) as T[];
    return (await (manager ?? this.dataSource).query(numbered(sql), params)) as T[];
  }
}

/** `?, ?` -> `$1, $2` for PostgreSQL. */
export function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** TypeORM's SQLite datetime text (UTC), so rows written here read back through the entity unchanged. */
export function sqliteTime(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}
