import { DataSource } from 'typeorm';
import { type AuditDriver, auditEventSchema } from './audit-event.entity.js';
import { CreateAuditEvents1764028800000 } from './migrations/1764028800000-create-audit-events.migration.js';
import { CreateQuotaTables1764115200000 } from './migrations/1764115200000-create-quota-tables.migration.js';
import { CreateApprovalLinkUses1764201600000 } from './migrations/1764201600000-create-approval-link-uses.migration.js';
import { CreateTenantKeys1764460800000 } from './migrations/1764460800000-create-tenant-keys.migration.js';
import { AuditChain1764547200000 } from './migrations/1764547200000-audit-chain.migration.js';
import { quotaCounterSchema, quotaReservationSchema } from './quota.entity.js';

export interface DataSourceOptions {
  /** postgres://… selects PostgreSQL; absent selects SQLite at `sqlitePath`. */
  databaseUrl?: string;
  sqlitePath: string;
  /** Seconds-scale bound on waiting for a locked SQLite file or an unreachable PostgreSQL (default 5000 ms). */
  timeoutMs?: number;
}

/** Every migration, in order. Append new ones; never edit one that has shipped. */
export const migrations = [
  CreateAuditEvents1764028800000,
  CreateQuotaTables1764115200000,
  CreateApprovalLinkUses1764201600000,
  CreateTenantKeys1764460800000,
  AuditChain1764547200000,
];

export function driverOf(opts: Pick<DataSourceOptions, 'databaseUrl'>): AuditDriver {
  if (opts.databaseUrl === undefined || opts.databaseUrl === '') return 'better-sqlite3';
  if (/^postgres(ql)?:\/\//.test(opts.databaseUrl)) return 'postgres';
  throw new Error(
    `database.url must be a PostgreSQL URL (postgres://user:password@host:5432/db), got ${redactUrl(opts.databaseUrl)}; ` +
      'leave it unset to use SQLite in the data dir',
  );
}

/** The URL with its password masked, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * The one TypeORM DataSource definition shared by the gateway, the worker and the CLI: entities and migrations,
 * never `synchronize`. Not initialized; `openAuditStore` initializes it and runs the migrations.
 */
export function createDataSource(opts: DataSourceOptions): DataSource {
  const driver = driverOf(opts);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const common = {
    entities: [auditEventSchema(driver), quotaCounterSchema, quotaReservationSchema],
    migrations,
    migrationsTableName: 'atom_gov_migrations',
    migrationsRun: false,
    synchronize: false,
    logging: false,
  };
  if (driver === 'postgres') {
    return new DataSource({
      ...common,
      type: 'postgres',
      url: opts.databaseUrl,
      applicationName: 'atom-gov',
      connectTimeoutMS: timeoutMs,
    });
  }
  return new DataSource({
    ...common,
    type: 'better-sqlite3',
    database: opts.sqlitePath,
    enableWAL: true,
    timeout: timeoutMs,
    // WAL's default synchronous=NORMAL can lose the last commits on power loss; FULL makes a resolved append durable.
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('synchronous = FULL');
      // 32 MB page cache (default 2 MB): the event indexes (random uuid keys) stay in memory under load.
      db.pragma('cache_size = -32000');
    },
  });
}
