// The audit store's SQLite writer thread (see sqlite-writer-thread.ts): its own connection, the same pragmas as
// the store's DataSource, the same append transaction.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { type AuditEventRow } from '../audit-event.entity.js';
import { sqliteAppender } from './chain-writer.js';
import { type SqliteDatabase } from './chain-sql.js';

type Connection = SqliteDatabase & { pragma(sql: string): unknown };
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  opts: { timeout: number },
) => Connection;

const { path, timeoutMs } = workerData as { path: string; timeoutMs: number };
const db = new Database(path, { timeout: timeoutMs });
// WAL is a property of the file, set by the store's DataSource before this thread starts; setting it again here
// would need a lock another process may be holding.
db.pragma('synchronous = FULL');
db.pragma('cache_size = -32000');
const append = sqliteAppender(db);

parentPort!.on('message', ({ id, rows }: { id: number; rows: AuditEventRow[] }) => {
  try {
    const links = append(rows).map((r) => [r.id, r.seq, r.hash, r.prevHash]);
    parentPort!.postMessage({ id, links });
  } catch (error) {
    const e = error as Error & { code?: string };
    parentPort!.postMessage({ id, error: { message: e.message, ...(e.code ? { code: e.code } : {}) } });
  }
});
