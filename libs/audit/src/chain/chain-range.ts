import { CANONICAL_COLUMNS, hashCanonical, RECORD_FORMAT } from './chain-record.js';
import { type SqliteDatabase } from './chain-sql.js';

/**
 * The fast path of chain verification. Each event's hash depends only on its stored record and its stored
 * prev_hash, so a tenant's chain can be checked in seq ranges independently (on worker threads) and the ranges
 * joined by checking the links at their borders. A range only answers "clean" (every event intact, hashed,
 * linked to the one before and numbered one after it) or "not clean": any irregularity sends the tenant through
 * the sequential walk, which classifies the problems exactly as before. Tampering is rare; the clean case is the
 * one that must be fast.
 */
export interface RangeTask {
  tenant: string;
  /** Inclusive seq bounds. */
  fromSeq: number;
  toSeq: number;
  /** Seqs whose stored hash the caller needs (checkpoint positions). */
  wantedSeqs: readonly number[];
  /** Hashes whose seq the caller needs (checkpoint hashes). */
  wantedHashes: readonly string[];
}

export interface RangeSummary {
  /** False at the first irregularity; the other fields are then meaningless. */
  clean: boolean;
  events: number;
  first?: { seq: number; prevHash: string };
  last?: { seq: number; hash: string };
  /** [seq, hash] for the wanted seqs found in the range. */
  hashAt: Array<[number, string]>;
  /** [hash, seq] for the wanted hashes found in the range. */
  seqOfHash: Array<[string, number]>;
}

/** A page row: canonical record text, seq, hash, prev_hash. */
export type RangeRow = [string, number, string | null, string | null];

export const RANGE_PAGE = 5000;

/** AUDIT_EVENTS_TABLE, spelt out: importing the entity module would load TypeORM into every verification thread. */
const AUDIT_EVENTS_TABLE = 'audit_events';

/** Folds the pages of one range; feed() returns false as soon as the range is known not to be clean. */
export class RangeChecker {
  private readonly summary: RangeSummary = { clean: true, events: 0, hashAt: [], seqOfHash: [] };
  private readonly wantedSeqs: Set<number>;
  private readonly wantedHashes: Set<string>;
  private prevSeq = -1;
  private prevHash = '';

  constructor(task: Pick<RangeTask, 'wantedSeqs' | 'wantedHashes'>) {
    this.wantedSeqs = new Set(task.wantedSeqs);
    this.wantedHashes = new Set(task.wantedHashes);
  }

  feed(rows: readonly RangeRow[]): boolean {
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i]!;
      if (!this.feedOne(row[0], row[1], row[2], row[3])) return false;
    }
    return true;
  }

  get clean(): boolean {
    return this.summary.clean;
  }

  feedOne(canonical: string, seq: number | null, hash: string | null, prevHash: string | null): boolean {
    const s = this.summary;
    if (seq === null || hash === null || prevHash === null) return this.dirty();
    if (s.events === 0) s.first = { seq, prevHash };
    else if (seq !== this.prevSeq + 1 || prevHash !== this.prevHash) return this.dirty();
    if (hashCanonical(prevHash, canonical) !== hash) return this.dirty();
    if (this.wantedSeqs.has(seq)) s.hashAt.push([seq, hash]);
    if (this.wantedHashes.has(hash)) s.seqOfHash.push([hash, seq]);
    s.events += 1;
    this.prevSeq = seq;
    this.prevHash = hash;
    return true;
  }

  result(): RangeSummary {
    const s = this.summary;
    if (s.clean && s.events > 0) s.last = { seq: this.prevSeq, hash: this.prevHash };
    return s;
  }

  private dirty(): false {
    this.summary.clean = false;
    return false;
  }
}

/**
 * SQLite builds the canonical text itself: json_array writes exactly what JSON.stringify writes for these values
 * (the time text becomes epoch ms), one string per event instead of 22 values.
 */
export const SQLITE_CANONICAL = `json_array(${[
  `'${RECORD_FORMAT}'`,
  ...CANONICAL_COLUMNS.map((c) =>
    c === 'time' ? 'CAST(ROUND((julianday(time) - 2440587.5) * 86400000.0) AS INTEGER)' : c,
  ),
].join(', ')})`;

const SQLITE_RANGE_PAGE =
  `SELECT ${SQLITE_CANONICAL}, seq, hash, prev_hash FROM ${AUDIT_EVENTS_TABLE} ` +
  `WHERE tenant = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ${RANGE_PAGE}`;

/** Checks one range on a better-sqlite3 connection (the store's own, or a verifier thread's). */
export function checkSqliteRange(db: SqliteDatabase, task: RangeTask): RangeSummary {
  const statement = db.prepare(SQLITE_RANGE_PAGE) as ReturnType<SqliteDatabase['prepare']> & {
    raw(on: boolean): unknown;
  };
  statement.raw(true);
  const checker = new RangeChecker(task);
  for (let after = task.fromSeq - 1; ;) {
    const page = statement.all(task.tenant, after, task.toSeq) as RangeRow[];
    if (!checker.feed(page)) break;
    if (page.length < RANGE_PAGE) break;
    after = page[page.length - 1]![1];
  }
  return checker.result();
}

/**
 * A slice of the SQLite table in storage (rowid) order, all tenants at once: each table page is read once, where
 * walking tenant by tenant in seq order reads every page once per tenant (their events are interleaved). Appends
 * store each tenant's events in seq order, so an intact chain is also intact in rowid order; a tenant whose events
 * are not (a renumbering, a VACUUM that moved rows) is simply not clean here and takes the walk.
 */
export interface ScanTask {
  /** Inclusive rowid bounds. */
  fromRowid: number;
  toRowid: number;
  /** Per tenant: the seqs and hashes of its checkpoints. */
  wanted: ReadonlyArray<[tenant: string, seqs: readonly number[], hashes: readonly string[]]>;
}

const SQLITE_SCAN_PAGE =
  `SELECT rowid, tenant, ${SQLITE_CANONICAL}, seq, hash, prev_hash FROM ${AUDIT_EVENTS_TABLE} ` +
  `WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ${RANGE_PAGE}`;

/** Checks a rowid slice: one range summary per tenant met in it, in the order their events appear. */
export function scanSqliteSlice(db: SqliteDatabase, task: ScanTask): Array<[string, RangeSummary]> {
  const statement = db.prepare(SQLITE_SCAN_PAGE) as ReturnType<SqliteDatabase['prepare']> & {
    raw(on: boolean): unknown;
  };
  statement.raw(true);
  const wanted = new Map(
    task.wanted.map(([tenant, seqs, hashes]) => [tenant, { wantedSeqs: seqs, wantedHashes: hashes }]),
  );
  const none = { wantedSeqs: [], wantedHashes: [] };
  const checkers = new Map<string, RangeChecker>();
  for (let after = task.fromRowid - 1; ;) {
    const page = statement.all(after, task.toRowid) as Array<
      [number, string, string, number | null, string | null, string | null]
    >;
    for (let i = 0; i < page.length; i += 1) {
      const row = page[i]!;
      let checker = checkers.get(row[1]);
      if (!checker) {
        checker = new RangeChecker(wanted.get(row[1]) ?? none);
        checkers.set(row[1], checker);
      }
      // A tenant found not clean is not hashed further: it is walked anyway.
      if (checker.clean) checker.feedOne(row[2], row[3], row[4], row[5]);
    }
    if (page.length < RANGE_PAGE) break;
    after = page[page.length - 1]![0];
  }
  return [...checkers].map(([tenant, checker]) => [tenant, checker.result()]);
}

/** Splits [minSeq, maxSeq] into ranges of about `size` seqs. */
export function splitRange(minSeq: number, maxSeq: number, size: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let from = minSeq; from <= maxSeq; from += size) ranges.push([from, Math.min(maxSeq, from + size - 1)]);
  return ranges;
}
