// A chain-verification thread (see chain-verify-threads.ts): its own read connection, checks the seq ranges it
// is sent and answers with their summaries.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { checkSqliteRange, type RangeTask, scanSqliteSlice, type ScanTask } from './chain-range.js';
import { type SqliteDatabase } from './chain-sql.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  opts: { timeout: number; readonly: boolean; fileMustExist: boolean },
) => SqliteDatabase & { pragma(sql: string): unknown };

const { path, timeoutMs } = workerData as { path: string; timeoutMs: number };
const db = new Database(path, { timeout: timeoutMs, readonly: true, fileMustExist: true });
// The thread reads each range once, in seq order: a larger cache than the default saves little, so none is set.

parentPort!.on('message', ({ id, task, scan }: { id: number; task?: RangeTask; scan?: ScanTask }) => {
  try {
    parentPort!.postMessage({ id, result: scan ? scanSqliteSlice(db, scan) : checkSqliteRange(db, task!) });
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message });
  }
});
