import { type KeyObject } from 'node:crypto';
import { AUDIT_EVENTS_TABLE } from '../audit-event.entity.js';
import {
  CANONICAL_COLUMNS,
  canonicalValues,
  GENESIS_HASH,
  hashCanonical,
  RECORD_FORMAT,
  storedTimeMs,
} from './chain-record.js';
import { type ChainSql } from './chain-sql.js';
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
  problems: ChainProblem[];
}

export interface VerifyReport {
  ok: boolean;
  tenants: TenantVerification[];
  /** Events walked per second (all tenants). */
  eventsPerSecond: number;
}

export interface VerifyOptions {
  tenant?: string;
  /** Checks checkpoint signatures; without it, checkpoints count as unsigned (reported as bad signature). */
  publicKey?: KeyObject;
  /** Checkpoints kept elsewhere (e.g. the mirror file) to check the chain against as well. */
  extraCheckpoints?: readonly Checkpoint[];
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
const SQLITE_CANONICAL = `json_array(${[
  `'${RECORD_FORMAT}'`,
  ...CANONICAL_COLUMNS.map((c) =>
    c === 'time' ? 'CAST(ROUND((julianday(time) - 2440587.5) * 86400000.0) AS INTEGER)' : c,
  ),
].join(', ')})`;
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
  const arrays = (await sql.all<Record<string, unknown>>(query, [tenant, after])).map((r) =>
    [...CANONICAL_COLUMNS, 'seq', 'hash', 'prev_hash'].map((c) => r[c]),
  );
  return arrays.map((values) => {
    const hash = (values[N + 1] as string | null) ?? '';
    const prevHash = (values[N + 2] as string | null) ?? '';
    const seq = Number(values[N]);
    // The canonical record in place: drop seq/hash/prev_hash, time as epoch ms, counts as numbers.
    values.length = N;
    values[TIME] = storedTimeMs(values[TIME] as Date | string);
    for (const i of COUNTS) values[i] = Number(values[i]);
    return {
      seq,
      id: values[0] as string,
      hash,
      prev_hash: prevHash,
      intact: hashCanonical(prevHash, canonicalValues(values)) === hash,
    };
  });
}

/**
 * Walks each tenant's chain in seq order with one event of look-ahead and classifies what breaks it: a record
 * whose hash does not match (modified), a link to an event that is not stored (deleted), an event nothing links
 * to (inserted), links that run against the seq order (reordered), numbering that skips with the links intact
 * (gap), and a chain that ends before its head or a signed checkpoint (truncated tail). Checkpoints must carry a
 * good signature (bad signature) and match the hash stored at their seq (modified).
 */
export async function verifyChain(sql: ChainSql, writer: ChainWriter, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const heads = new Map((await writer.heads()).map((h) => [h.tenant, h]));
  const stored = await writer.checkpoints(opts.tenant);
  const checkpoints = [...stored, ...(opts.extraCheckpoints ?? []).filter((c) => !stored.some((s) => s.id === c.id))];
  const tenantRows = await sql.all<{ tenant: string }>(`SELECT DISTINCT tenant FROM ${AUDIT_EVENTS_TABLE}`);
  const tenants = new Set([...heads.keys(), ...tenantRows.map((r) => r.tenant), ...checkpoints.map((c) => c.tenant)]);
  const selected = opts.tenant !== undefined ? [opts.tenant] : [...tenants].sort();
  const results: TenantVerification[] = [];
  let total = 0;
  for (const tenant of selected) {
    const result = await verifyTenant(
      sql,
      tenant,
      heads.get(tenant),
      checkpoints.filter((c) => c.tenant === tenant),
      opts.publicKey,
    );
    total += result.events;
    results.push(result);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    ok: results.every((r) => r.problems.length === 0),
    tenants: results,
    eventsPerSecond: seconds > 0 ? total / seconds : total,
  };
}

async function verifyTenant(
  sql: ChainSql,
  tenant: string,
  head: ChainHead | undefined,
  checkpoints: Checkpoint[],
  publicKey: KeyObject | undefined,
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
      problem('modified', `event seq ${seq} (${row.id}) does not match its hash: its stored fields were changed`, seq);
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
      problem('reordered', `events seq ${seq} and ${nextSeq} are swapped: their links run the other way`, seq, nextSeq);
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
    problems,
  };
}
