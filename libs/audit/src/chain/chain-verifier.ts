import { type KeyObject } from 'node:crypto';
import { AUDIT_EVENTS_TABLE } from '../audit-event.entity.js';
import {
  checkSqliteRange,
  RANGE_PAGE,
  RangeChecker,
  type RangeRow,
  type RangeSummary,
  type RangeTask,
  scanSqliteSlice,
  type ScanTask,
  splitRange,
  SQLITE_CANONICAL,
} from './chain-range.js';
import { CANONICAL_COLUMNS, canonicalValues, GENESIS_HASH, hashCanonical, storedTimeMs } from './chain-record.js';
import { type ChainSql } from './chain-sql.js';
import { ChainVerifyThreads } from './chain-verify-threads.js';
import { type ChainHead, type ChainWriter } from './chain-writer.js';
import { type Checkpoint, verifyCheckpoint } from './checkpoint-signer.js';

export type ChainProblemKind =
  'modified' | 'deleted' | 'inserted' | 'reordered' | 'truncated tail' | 'bad signature' | 'gap';

export interface ChainProblem {
  kind: ChainProblemKind;
  tenant: string;
  /** The seq the problem is found at (for `deleted`/`gap`/`truncated tail`: the first missing one). */
  seq?: number;
  /** Last seq of a missing range. */
  toSeq?: number;
  message: string;
}

export interface TenantVerification {
  tenant: string;
  events: number;
  /** Stored chain range (startSeq..lastSeq), as walked. */
  startSeq: number;
  lastSeq: number;
  checkpoints: number;
  /** Highest seq covered by a checkpoint with a good signature. */
  lastSignedSeq?: number;
  /** 'ranges': found intact by the parallel range check; 'walk': walked event by event (and classified). */
  checkedBy: 'ranges' | 'walk';
  problems: ChainProblem[];
}

export interface VerifyReport {
  ok: boolean;
  tenants: TenantVerification[];
  /** Events walked per second (all tenants). */
  eventsPerSecond: number;
  /** Verification threads the range check ran on (0: in this thread). */
  threads: number;
}

export interface VerifyOptions {
  tenant?: string;
  /** Checks checkpoint signatures; without it, checkpoints count as unsigned (reported as bad signature). */
  publicKey?: KeyObject;
  /** Checkpoints kept elsewhere (e.g. the mirror file) to check the chain against as well. */
  extraCheckpoints?: readonly Checkpoint[];
  /**
   * Threads checking slices in parallel (SQLite, compiled package only); default 0: in this thread. Measured on 2
   * shared cores at 200,000 events, each thread's start (module load, cold JIT and page cache) cost more CPU than
   * its share of the work saved, so threads are opt-in for large chains. Under 20,000 events they are never used.
   */
  threads?: number;
  /** Rows (SQLite, all tenants: rowids) or seqs (one tenant, PostgreSQL) per slice of the range check (default 25,000). */
  rangeSize?: number;
  /** Skip the range check: walk every tenant with the classifying walk (the path every problem goes through). */
  sequential?: boolean;
}

/** Where the events are, for verification threads (they open their own read connection). */
export interface VerifySource {
  sqlitePath?: string;
  timeoutMs?: number;
}

const PAGE = 5000;

interface Link {
  seq: number;
  hash: string;
}

/** What the walk needs of an event: its links, and whether its stored fields still match its hash. */
interface WalkRow {
  seq: number;
  id: string;
  hash: string;
  prev_hash: string;
  intact: boolean;
}

const WALK_SELECT = `SELECT ${CANONICAL_COLUMNS.join(', ')}, seq, hash, prev_hash FROM ${AUDIT_EVENTS_TABLE}`;
const TIME = CANONICAL_COLUMNS.indexOf('time');
const N = CANONICAL_COLUMNS.length;
const COUNTS = (['duration_ms', 'request_bytes', 'response_bytes'] as const).map((c) => CANONICAL_COLUMNS.indexOf(c));

/** One page of a tenant's chain in seq order, each event hashed as it is read (arrays, not objects, on SQLite). */
async function walkPage(sql: ChainSql, tenant: string, after: number): Promise<WalkRow[]> {
  if (sql.driver === 'better-sqlite3') {
    // SQLite builds the canonical text itself (json_array writes exactly what JSON.stringify writes for these
    // values; the time text becomes epoch ms): one string per event instead of 25 values, several times faster.
    const rows = sql
      .rawStatement(
        `SELECT ${SQLITE_CANONICAL}, seq, hash, prev_hash, id FROM ${AUDIT_EVENTS_TABLE} ` +
          `WHERE tenant = ? AND seq IS NOT NULL AND seq > ? ORDER BY seq LIMIT ${PAGE}`,
      )
      .all(tenant, after) as Array<[string, number, string | null, string | null, string]>;
    return rows.map(([canonical, seq, hash, prevHash, id]) => ({
      seq,
      id,
      hash: hash ?? '',
      prev_hash: prevHash ?? '',
      intact: hashCanonical(prevHash ?? '', canonical) === hash,
    }));
  }
  const query = `${WALK_SELECT} WHERE tenant = ? AND seq IS NOT NULL AND seq > ? ORDER BY seq LIMIT ${PAGE}`;
  return (await sql.all<Record<string, unknown>>(query, [tenant, after])).map((r) => {
    const [canonical, seq, hash, prevHash] = pgRangeRow(r);
    return {
      seq,
      id: r.id as string,
      hash: hash ?? '',
      prev_hash: prevHash ?? '',
      intact: hashCanonical(prevHash ?? '', canonical) === hash,
    };
  });
}

/** A PostgreSQL row as [canonical record, seq, hash, prev_hash]: time as epoch ms, counts as numbers. */
function pgRangeRow(r: Record<string, unknown>): RangeRow {
  const values: unknown[] = new Array(N);
  for (let i = 0; i < N; i += 1) values[i] = r[CANONICAL_COLUMNS[i]!];
  values[TIME] = storedTimeMs(values[TIME] as Date | string);
  for (const i of COUNTS) values[i] = Number(values[i]);
  return [
    canonicalValues(values),
    Number(r.seq),
    (r.hash as string | null) ?? null,
    (r.prev_hash as string | null) ?? null,
  ];
}

/** What the range check learnt of a tenant whose stored chain is clean from its first to its last event. */
interface CleanChain {
  events: number;
  first: { seq: number; prevHash: string };
  last: { seq: number; hash: string };
  hashAt: Map<number, string>;
  seqOfHash: Map<string, number>;
}

const DEFAULT_RANGE = 25_000;
/** Below this many events per call, threads cost more to start than they save. */
const THREADS_FROM = 20_000;

/**
 * The fast path: the selected tenants' chains checked in slices (on threads when asked, SQLite only) and joined
 * at the slice borders. A tenant is in the result only when its whole stored
 * chain is clean; every other tenant (and every tenant when anything fails here) takes the classifying walk.
 * SQLite, all tenants: slices of the table in storage order (each page read once). One tenant, or PostgreSQL:
 * seq ranges of each tenant through the (tenant, seq) index (PostgreSQL: no faster than the walk, measured; kept
 * so both databases take the same path).
 */
async function checkRanges(
  sql: ChainSql,
  tenants: readonly string[],
  checkpoints: readonly Checkpoint[],
  opts: VerifyOptions,
  source: VerifySource,
): Promise<{ clean: Map<string, CleanChain>; threads: number }> {
  const size = Math.max(1, Math.floor(opts.rangeSize ?? DEFAULT_RANGE));
  const clean = new Map<string, CleanChain>();
  const wanted = (tenant: string) => {
    const own = checkpoints.filter((c) => c.tenant === tenant);
    return { wantedSeqs: own.map((c) => c.seq), wantedHashes: own.map((c) => c.hash) };
  };
  let threads: ChainVerifyThreads | undefined;
  try {
    if (sql.driver === 'better-sqlite3' && opts.tenant === undefined) {
      const [bounds] = await sql.all<{ lo: number | null; hi: number | null }>(
        `SELECT MIN(rowid) AS lo, MAX(rowid) AS hi FROM ${AUDIT_EVENTS_TABLE}`,
      );
      if (!bounds || bounds.lo === null || bounds.hi === null) return { clean, threads: 0 };
      const want = tenants.map((t): ScanTask['wanted'][number] => {
        const w = wanted(t);
        return [t, w.wantedSeqs, w.wantedHashes];
      });
      const slices: ScanTask[] = splitRange(bounds.lo, bounds.hi, size).map(([fromRowid, toRowid]) => ({
        fromRowid,
        toRowid,
        wanted: want,
      }));
      threads = startThreads(bounds.hi - bounds.lo + 1, opts, source);
      const pool = threads;
      const results = await runAll(
        slices,
        pool ? (slice) => pool.scan(slice) : async (slice) => scanSqliteSlice(sql.sqlite, slice),
        pool ? Infinity : 1,
      );
      const perTenant = new Map<string, RangeSummary[]>(tenants.map((t) => [t, []]));
      for (const result of results) for (const [tenant, summary] of result) perTenant.get(tenant)?.push(summary);
      for (const [tenant, summaries] of perTenant) {
        const joined = joinRanges(summaries);
        if (joined) clean.set(tenant, joined);
      }
      return { clean, threads: threads?.size ?? 0 };
    }

    const plans: Array<{ tenant: string; tasks: RangeTask[] }> = [];
    let total = 0;
    for (const tenant of tenants) {
      const [bounds] = await sql.all<{
        lo: number | string | null;
        hi: number | string | null;
        unchained: number | string;
      }>(
        `SELECT MIN(seq) AS lo, MAX(seq) AS hi, ` +
          `(SELECT COUNT(*) FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = ? AND seq IS NULL) AS unchained ` +
          `FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = ?`,
        [tenant, tenant],
      );
      if (!bounds || bounds.lo === null || bounds.hi === null || Number(bounds.unchained) > 0) continue;
      const w = wanted(tenant);
      const lo = Number(bounds.lo);
      const hi = Number(bounds.hi);
      total += hi - lo + 1;
      plans.push({
        tenant,
        tasks: splitRange(lo, hi, size).map(([fromSeq, toSeq]) => ({ tenant, fromSeq, toSeq, ...w })),
      });
    }
    if (plans.length === 0) return { clean, threads: 0 };
    let check: (task: RangeTask) => Promise<RangeSummary>;
    let inFlight = 1;
    if (sql.driver === 'better-sqlite3') {
      threads = startThreads(total, opts, source);
      const pool = threads;
      check = pool ? (task) => pool.check(task) : async (task) => checkSqliteRange(sql.sqlite, task);
      if (pool) inFlight = Infinity;
    } else {
      // One range at a time: 3 in flight measured no faster (this process's row decoding is the cost) and used
      // more CPU per event at 200,000 events.
      check = (task) => checkPgRange(sql, task);
    }
    const tasks = plans.flatMap((p) => p.tasks);
    const summaries = await runAll(tasks, check, inFlight);
    let i = 0;
    for (const plan of plans) {
      const joined = joinRanges(summaries.slice(i, i + plan.tasks.length));
      i += plan.tasks.length;
      if (joined) clean.set(plan.tenant, joined);
    }
    return { clean, threads: threads?.size ?? 0 };
  } catch {
    // A thread or a query failed: the classifying walk reads everything again (and reports what it finds).
    return { clean: new Map(), threads: threads?.size ?? 0 };
  } finally {
    await threads?.close();
  }
}

function startThreads(events: number, opts: VerifyOptions, source: VerifySource): ChainVerifyThreads | undefined {
  if (events < THREADS_FROM || !source.sqlitePath) return undefined;
  return ChainVerifyThreads.start({
    path: source.sqlitePath,
    timeoutMs: source.timeoutMs ?? 5000,
    threads: opts.threads ?? 0,
  });
}

/** Results in task order, at most `inFlight` tasks running at once. */
async function runAll<T, R>(tasks: readonly T[], run: (task: T) => Promise<R>, inFlight: number): Promise<R[]> {
  const results: R[] = new Array<R>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await run(tasks[i]!);
      }
    }),
  );
  return results;
}

/** Joins a tenant's range summaries: each clean and non-empty, each starting where the one before ended. */
function joinRanges(summaries: readonly RangeSummary[]): CleanChain | undefined {
  let chain: CleanChain | undefined;
  for (const s of summaries) {
    if (!s.clean || !s.first || !s.last) return undefined;
    if (chain) {
      if (s.first.seq !== chain.last.seq + 1 || s.first.prevHash !== chain.last.hash) return undefined;
      chain.last = s.last;
      chain.events += s.events;
    } else {
      chain = { events: s.events, first: s.first, last: s.last, hashAt: new Map(), seqOfHash: new Map() };
    }
    for (const [seq, hash] of s.hashAt) chain.hashAt.set(seq, hash);
    for (const [hash, seq] of s.seqOfHash) chain.seqOfHash.set(hash, seq);
  }
  return chain;
}

async function checkPgRange(sql: ChainSql, task: RangeTask): Promise<RangeSummary> {
  const checker = new RangeChecker(task);
  const query = `${WALK_SELECT} WHERE tenant = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ${RANGE_PAGE}`;
  for (let after = task.fromSeq - 1; ;) {
    const page = (await sql.all<Record<string, unknown>>(query, [task.tenant, after, task.toSeq])).map(pgRangeRow);
    if (!checker.feed(page)) break;
    if (page.length < RANGE_PAGE) break;
    after = page[page.length - 1]![1];
  }
  return checker.result();
}

/**
 * Walks each tenant's chain in seq order with one event of look-ahead and classifies what breaks it: a record
 * whose hash does not match (modified), a link to an event that is not stored (deleted), an event nothing links
 * to (inserted), links that run against the seq order (reordered), numbering that skips with the links intact
 * (gap), and a chain that ends before its head or a signed checkpoint (truncated tail). Checkpoints must carry a
 * good signature (bad signature) and match the hash stored at their seq (modified).
 */
export async function verifyChain(
  sql: ChainSql,
  writer: ChainWriter,
  opts: VerifyOptions = {},
  source: VerifySource = {},
): Promise<VerifyReport> {
  const started = performance.now();
  const heads = new Map((await writer.heads()).map((h) => [h.tenant, h]));
  const stored = await writer.checkpoints(opts.tenant);
  const checkpoints = [...stored, ...(opts.extraCheckpoints ?? []).filter((c) => !stored.some((s) => s.id === c.id))];
  const tenantRows = await sql.all<{ tenant: string }>(`SELECT DISTINCT tenant FROM ${AUDIT_EVENTS_TABLE}`);
  const tenants = new Set([...heads.keys(), ...tenantRows.map((r) => r.tenant), ...checkpoints.map((c) => c.tenant)]);
  const selected = opts.tenant !== undefined ? [opts.tenant] : [...tenants].sort();
  const { clean, threads } = opts.sequential
    ? { clean: new Map<string, CleanChain>(), threads: 0 }
    : await checkRanges(sql, selected, checkpoints, opts, source);
  const results: TenantVerification[] = [];
  let total = 0;
  for (const tenant of selected) {
    const result = await verifyTenant(
      sql,
      tenant,
      heads.get(tenant),
      checkpoints.filter((c) => c.tenant === tenant),
      opts.publicKey,
      clean.get(tenant),
    );
    total += result.events;
    results.push(result);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    ok: results.every((r) => r.problems.length === 0),
    tenants: results,
    eventsPerSecond: seconds > 0 ? total / seconds : total,
    threads,
  };
}

async function verifyTenant(
  sql: ChainSql,
  tenant: string,
  head: ChainHead | undefined,
  checkpoints: Checkpoint[],
  publicKey: KeyObject | undefined,
  clean: CleanChain | undefined,
): Promise<TenantVerification> {
  const problems: ChainProblem[] = [];
  const problem = (kind: ChainProblemKind, message: string, seq?: number, toSeq?: number) =>
    problems.push({
      kind,
      tenant,
      message,
      ...(seq !== undefined ? { seq } : {}),
      ...(toSeq !== undefined ? { toSeq } : {}),
    });

  const signed: Checkpoint[] = [];
  for (const c of checkpoints) {
    if (publicKey && verifyCheckpoint(c, publicKey)) signed.push(c);
    else {
      problem(
        'bad signature',
        publicKey
          ? `checkpoint ${c.id} (seq ${c.seq}, ${c.createdAt}) does not carry a valid signature of this key`
          : `checkpoint ${c.id} (seq ${c.seq}) cannot be checked: no public key (run 'atom-gov audit verify --export-public-key FILE' where the signing key is, then pass --public-key FILE)`,
        c.seq,
      );
    }
  }
  // Where the stored chain starts: after the newest signed retention purge, else at the genesis.
  const start = signed.reduce<{ seq: number; prevHash: string }>(
    (acc, c) => (c.startSeq > acc.seq ? { seq: c.startSeq, prevHash: c.startPrevHash } : acc),
    { seq: 1, prevHash: GENESIS_HASH },
  );
  const wanted = new Set(signed.map((c) => c.seq));
  const hashAt = new Map<number, string>();
  const signedHashes = new Set(signed.map((c) => c.hash));
  const seqOfSignedHash = new Map<string, number>();

  // Every stored hash (16-hex-digit prefixes keep this small): tells "links elsewhere" from "links to nothing".
  // Read only when a link is broken, so an intact chain is read once.
  let known: Set<string> | undefined;
  const loadKnown = async (): Promise<Set<string>> => {
    const found = new Set<string>();
    const hashQuery = `SELECT seq, hash FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = ? AND seq IS NOT NULL AND seq > ? ORDER BY seq LIMIT ${PAGE}`;
    for (let after = -1; ;) {
      const page =
        sql.driver === 'better-sqlite3'
          ? (sql.rawStatement(hashQuery).all(tenant, after) as Array<[number, string | null]>)
          : (await sql.all<{ seq: string; hash: string | null }>(hashQuery, [tenant, after])).map(
              (r) => [Number(r.seq), r.hash] as [number, string | null],
            );
      for (const [, hash] of page) if (hash) found.add(hash.slice(0, 16));
      if (page.length < PAGE) break;
      after = Number(page[page.length - 1]![0]);
    }
    return found;
  };

  const ranged = clean !== undefined && clean.first.seq === start.seq && clean.first.prevHash === start.prevHash;
  const { events, prev } = ranged ? fromRanges(clean) : await walkTenant();

  /**
   * The range check found the stored chain intact from the chain start to its last event: nothing for the walk to
   * classify; what it would have recorded for the checks below comes from the ranges.
   */
  function fromRanges(chain: CleanChain): { events: number; prev: Link } {
    for (const seq of wanted) {
      const hash = chain.hashAt.get(seq);
      if (hash !== undefined) hashAt.set(seq, hash);
    }
    for (const hash of signedHashes) {
      const seq = chain.seqOfHash.get(hash);
      if (seq !== undefined) seqOfSignedHash.set(hash, seq);
    }
    return { events: chain.events, prev: { seq: chain.last.seq, hash: chain.last.hash } };
  }

  async function walkTenant(): Promise<{ events: number; prev: Link }> {
    const unchained = await sql.all<{ id: string }>(
      `SELECT id FROM ${AUDIT_EVENTS_TABLE} WHERE tenant = ? AND (seq IS NULL OR hash IS NULL)`,
      [tenant],
    );
    for (const r of unchained) problem('inserted', `event ${r.id} is not part of the chain (no seq or hash)`);

    let prev: Link = { seq: start.seq - 1, hash: start.prevHash };
    /** Highest seq looked at so far (also of events judged inserted): numbering is checked against it. */
    let lastSeen = start.seq - 1;
    let events = 0;
    let cur: WalkRow | undefined;
    const accept = (row: WalkRow) => {
      const seq = row.seq;
      prev = { seq, hash: row.hash };
      if (wanted.has(seq)) hashAt.set(seq, prev.hash);
      if (signedHashes.has(prev.hash)) seqOfSignedHash.set(prev.hash, seq);
    };
    const step = async (row: WalkRow, next: WalkRow | undefined): Promise<boolean> => {
      // Returns true when `next` was consumed as well (an adjacent swap).
      events += 1;
      const seq = row.seq;
      const before = lastSeen;
      lastSeen = Math.max(lastSeen, seq);
      const stored = row.hash;
      const prevHash = row.prev_hash;
      if (!row.intact) {
        problem(
          'modified',
          `event seq ${seq} (${row.id}) does not match its hash: its stored fields were changed`,
          seq,
        );
      }
      if (prevHash === prev.hash) {
        if (next && next.prev_hash !== stored && next.prev_hash === prev.hash) {
          problem('inserted', `event seq ${seq} (${row.id}) was added: the next event links past it`, seq);
          return false;
        }
        if (seq !== before + 1) {
          problem(
            'gap',
            `seq jumps from ${before} to ${seq} although no event is missing from the links`,
            before + 1,
            seq - 1,
          );
        }
        accept(row);
        return false;
      }
      if (next && prevHash === next.hash && next.prev_hash === prev.hash) {
        const nextSeq = next.seq;
        problem(
          'reordered',
          `events seq ${seq} and ${nextSeq} are swapped: their links run the other way`,
          seq,
          nextSeq,
        );
        events += 1;
        lastSeen = Math.max(lastSeen, nextSeq);
        if (!next.intact) {
          problem('modified', `event seq ${nextSeq} (${next.id}) does not match its hash`, nextSeq);
        }
        accept(row);
        prev = { seq: lastSeen, hash: stored };
        return true;
      }
      if (next && next.prev_hash === prev.hash) {
        problem('inserted', `event seq ${seq} (${row.id}) was added: the next event links past it`, seq);
        return false;
      }
      known ??= await loadKnown();
      if (known.has(prevHash.slice(0, 16))) {
        problem('reordered', `event seq ${seq} (${row.id}) links to an event stored elsewhere in the chain`, seq);
      } else if (seq > before + 1) {
        problem(
          'deleted',
          `${seq - before - 1 === 1 ? `event seq ${before + 1} is` : `events seq ${before + 1}-${seq - 1} are`} missing: seq ${seq} links to an event that is not stored`,
          before + 1,
          seq - 1,
        );
      } else {
        // The event before it was replaced by one with a recomputed hash: seq `seq` still links to the original.
        problem(
          'modified',
          `event seq ${prev.seq} was replaced (its hash recomputed): seq ${seq} links to the original`,
          prev.seq,
        );
      }
      accept(row);
      return false;
    };

    for (let after = -1; ;) {
      const page = await walkPage(sql, tenant, after);
      for (const row of page) {
        if (cur === undefined) {
          cur = row;
          continue;
        }
        const consumed = await step(cur, row);
        cur = consumed ? undefined : row;
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
    if (cur !== undefined) await step(cur, undefined);
    return { events, prev };
  }

  const lastSeq = prev.seq;
  const walkProblems = problems.filter((p) => p.kind !== 'bad signature');
  /** A problem the walk found at or before `seq` already explains a mismatch there. */
  const explained = (seq: number) => walkProblems.some((p) => p.seq === undefined || p.seq <= seq);
  if (head) {
    if (prev.hash === head.hash && lastSeq !== head.seq) {
      if (!explained(lastSeq)) {
        problem('gap', `the last event is numbered ${lastSeq} but the chain head says ${head.seq}`, lastSeq);
      }
    } else if (lastSeq < head.seq) {
      problem(
        'truncated tail',
        `the chain ends at seq ${lastSeq} but its head says ${head.seq}: the newest events are missing`,
        lastSeq + 1,
        head.seq,
      );
    } else if (lastSeq > head.seq) {
      problem('inserted', `events seq ${head.seq + 1}-${lastSeq} lie beyond the chain head`, head.seq + 1, lastSeq);
    } else if (lastSeq >= start.seq && prev.hash !== head.hash) {
      problem('modified', `the last event (seq ${lastSeq}) does not have the hash recorded in the chain head`, lastSeq);
    }
  } else if (events > 0) {
    problem('truncated tail', 'the chain head record is missing');
  }
  let lastSignedSeq: number | undefined;
  for (const c of signed) {
    if (c.seq < start.seq) continue;
    const at = hashAt.get(c.seq);
    if (c.seq > lastSeq) {
      problem(
        'truncated tail',
        `a checkpoint signed at ${c.createdAt} covers seq ${c.seq} but the chain ends at seq ${lastSeq}`,
        lastSeq + 1,
        c.seq,
      );
    } else if (at !== c.hash) {
      const movedTo = seqOfSignedHash.get(c.hash);
      if (explained(c.seq)) continue;
      if (movedTo !== undefined) {
        problem(
          movedTo > c.seq ? 'inserted' : 'deleted',
          `the event signed as seq ${c.seq} (checkpoint of ${c.createdAt}) is now at seq ${movedTo}: ` +
            `${Math.abs(movedTo - c.seq)} event(s) ${movedTo > c.seq ? 'added' : 'removed'} before it`,
          c.seq,
        );
      } else {
        problem(
          'modified',
          `the chain up to seq ${c.seq} differs from the checkpoint signed at ${c.createdAt}: it was rewritten`,
          c.seq,
        );
      }
    } else {
      lastSignedSeq = Math.max(lastSignedSeq ?? 0, c.seq);
    }
  }
  return {
    tenant,
    events,
    startSeq: start.seq,
    lastSeq,
    checkpoints: checkpoints.length,
    ...(lastSignedSeq !== undefined ? { lastSignedSeq } : {}),
    checkedBy: ranged ? 'ranges' : 'walk',
    problems,
  };
}
