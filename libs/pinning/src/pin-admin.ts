// Operator actions on the lock file (used by `atom-gov tools pin|approve|status`): pin a server's current
// definitions, accept a pending change, report what is pinned and pending.
import { diffWords } from 'diff';
import { canonicalJson, definitionHash, PinningError } from './canonical.js';
import {
  INSTRUCTIONS_NAME,
  LockStore,
  PIN_KINDS,
  serverPinsOf,
  type ListKind,
  type PendingChange,
  type PinEntry,
  type PinKind,
} from './lock-store.js';
import { itemKey } from './pinning.service.js';

/** Everything a server offers, as listed (all pages) from it. */
export interface DefinitionSnapshot {
  tools: readonly object[];
  prompts: readonly object[];
  resources: readonly object[];
  resourceTemplates: readonly object[];
  instructions?: string;
}

export interface PinServerResult {
  /** `kind/name` newly pinned. */
  pinned: string[];
  unchanged: number;
  /** Definitions that differ from their pin: updated (with `update`) or recorded as pending. */
  changed: Array<{ kind: PinKind; name: string; oldHash: string; newHash: string }>;
  updated: boolean;
}

/**
 * Pins the server's current definitions. Items already pinned with another hash are recorded as pending (so they
 * get reviewed with `tools approve`) unless `update` re-pins them on the operator's word.
 */
export async function pinServer(
  lockPath: string,
  server: string,
  snapshot: DefinitionSnapshot,
  opts: { approver: string; update?: boolean; now?: Date },
): Promise<PinServerResult> {
  const nowIso = (opts.now ?? new Date()).toISOString();
  const entries: Array<{ kind: PinKind; name: string; value: unknown; hash: string }> = [];
  const lists: Array<[ListKind, readonly object[]]> = [
    ['tools', snapshot.tools],
    ['prompts', snapshot.prompts],
    ['resources', snapshot.resources],
    ['resourceTemplates', snapshot.resourceTemplates],
  ];
  for (const [kind, items] of lists) {
    for (const item of items) {
      const name = itemKey(kind, item);
      if (name === undefined)
        throw new PinningError(`server '${server}' lists a ${kind} entry without its identifying field`);
      entries.push({ kind, name, value: item, hash: definitionHash(item) });
    }
  }
  if (snapshot.instructions !== undefined)
    entries.push({
      kind: 'instructions',
      name: INSTRUCTIONS_NAME,
      value: snapshot.instructions,
      hash: definitionHash(snapshot.instructions),
    });

  return new LockStore(lockPath).update((lock) => {
    const sp = serverPinsOf(lock, server);
    // Every kind counts as seen, even when empty: whatever appears later is "new".
    for (const kind of PIN_KINDS) sp[kind] ??= {};
    const result: PinServerResult = { pinned: [], unchanged: 0, changed: [], updated: opts.update === true };
    for (const e of entries) {
      const pins = sp[e.kind]!;
      const pin = pins[e.name];
      const pendingAt = sp.pending.findIndex((p) => p.kind === e.kind && p.name === e.name);
      if (pin && pin.hash === e.hash) {
        result.unchanged++;
        if (pendingAt >= 0) sp.pending.splice(pendingAt, 1);
        continue;
      }
      const fresh: PinEntry = {
        hash: e.hash,
        firstSeen: pin?.firstSeen ?? nowIso,
        approvedBy: opts.approver,
        approvedAt: nowIso,
        definition: e.value,
      };
      if (!pin) {
        pins[e.name] = fresh;
        result.pinned.push(`${e.kind}/${e.name}`);
        if (pendingAt >= 0) sp.pending.splice(pendingAt, 1);
        continue;
      }
      result.changed.push({ kind: e.kind, name: e.name, oldHash: pin.hash, newHash: e.hash });
      if (opts.update) {
        pins[e.name] = fresh;
        if (pendingAt >= 0) sp.pending.splice(pendingAt, 1);
      } else {
        const change: PendingChange = {
          kind: e.kind,
          name: e.name,
          reason: 'changed',
          oldHash: pin.hash,
          newHash: e.hash,
          seenAt: nowIso,
          definition: e.value,
        };
        if (pendingAt >= 0) sp.pending[pendingAt] = change;
        else sp.pending.push(change);
      }
    }
    return { changed: true, value: result };
  });
}

export interface ApprovedChange {
  server: string;
  kind: PinKind;
  name: string;
  previous?: PinEntry;
  change: PendingChange;
  approved: PinEntry;
}

/** Accepts the pending change of one item; throws PinningError naming what is pending when there is no such change. */
export async function approveChange(
  lockPath: string,
  target: { server: string; kind?: PinKind; name?: string; approver: string; now?: Date },
): Promise<ApprovedChange> {
  const kind = target.kind ?? 'tools';
  const name = kind === 'instructions' ? INSTRUCTIONS_NAME : target.name;
  if (name === undefined) throw new PinningError(`name the ${kind} entry to approve (--tool NAME)`);
  const nowIso = (target.now ?? new Date()).toISOString();
  return new LockStore(lockPath).update((lock) => {
    const sp = lock.servers[target.server];
    const at = sp?.pending.findIndex((p) => p.kind === kind && p.name === name) ?? -1;
    if (!sp || at < 0) {
      const pending = sp?.pending.map((p) => (p.kind === 'tools' ? p.name : `${p.name} (--kind ${p.kind})`)) ?? [];
      const servers = Object.keys(lock.servers);
      throw new PinningError(
        !sp
          ? `no pins for server '${target.server}' in ${lockPath}${servers.length ? ` (pinned servers: ${servers.join(', ')})` : ''}`
          : `no pending change for ${kind} '${name}' of server '${target.server}'${pending.length ? `; pending: ${pending.join(', ')}` : '; nothing is pending for this server'}`,
      );
    }
    const change = sp.pending[at]!;
    const pins = (sp[kind] ??= {});
    const previous = pins[name];
    const approved: PinEntry = {
      hash: change.newHash,
      firstSeen: previous?.firstSeen ?? change.seenAt,
      approvedBy: target.approver,
      approvedAt: nowIso,
      definition: change.definition,
    };
    pins[name] = approved;
    sp.pending.splice(at, 1);
    return {
      changed: true,
      value: { server: target.server, kind, name, ...(previous ? { previous } : {}), change, approved },
    };
  });
}

export interface PinStatusRow {
  server: string;
  kind: PinKind;
  name: string;
  state: 'pinned' | 'changed' | 'new';
  hash: string;
  since: string;
  approvedBy?: string;
}

/** Pinned and pending items, pending first, then by server, kind and name. */
export function pinStatus(lockPath: string, server?: string): PinStatusRow[] {
  const lock = new LockStore(lockPath).current();
  if (server !== undefined && !lock.servers[server]) {
    const known = Object.keys(lock.servers);
    throw new PinningError(
      `no pins for server '${server}' in ${lockPath}${known.length ? ` (pinned servers: ${known.join(', ')})` : ''}`,
    );
  }
  const rows: PinStatusRow[] = [];
  for (const [name, sp] of Object.entries(lock.servers)) {
    if (server !== undefined && name !== server) continue;
    for (const p of sp.pending)
      rows.push({ server: name, kind: p.kind, name: p.name, state: p.reason, hash: p.newHash, since: p.seenAt });
    for (const kind of PIN_KINDS)
      for (const [item, pin] of Object.entries(sp[kind] ?? {}))
        rows.push({
          server: name,
          kind,
          name: item,
          state: 'pinned',
          hash: pin.hash,
          since: pin.approvedAt ?? pin.firstSeen,
          ...(pin.approvedBy ? { approvedBy: pin.approvedBy } : {}),
        });
  }
  const order = (r: PinStatusRow) => (r.state === 'pinned' ? 1 : 0);
  return rows.sort(
    (a, b) => order(a) - order(b) || cmp(a.server, b.server) || cmp(a.kind, b.kind) || cmp(a.name, b.name),
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A short review text: the description (or instructions) as a word diff ([-old-]{+new+}) and the names of other
 * top-level fields that changed.
 */
export function describeChange(previous: unknown, next: unknown): string {
  const text = (d: unknown) =>
    typeof d === 'string'
      ? d
      : typeof d === 'object' && d !== null
        ? (d as { description?: unknown }).description
        : undefined;
  const lines: string[] = [];
  const before = text(previous);
  const after = text(next);
  if (before !== after) {
    const parts = diffWords(typeof before === 'string' ? before : '', typeof after === 'string' ? after : '').map(
      (c) => (c.added ? `{+${c.value}+}` : c.removed ? `[-${c.value}-]` : c.value),
    );
    lines.push(`description: ${parts.join('')}`);
  }
  if (typeof previous === 'object' && previous !== null && typeof next === 'object' && next !== null) {
    const a = previous as Record<string, unknown>;
    const b = next as Record<string, unknown>;
    const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => f !== 'description').sort();
    const other = fields.filter((f) => canonicalOrNull(a[f]) !== canonicalOrNull(b[f]));
    if (other.length) lines.push(`other changed fields: ${other.join(', ')}`);
  } else if (previous === undefined) {
    lines.push('new: no previous definition');
  }
  return lines.length ? lines.join('\n') : 'no visible difference (formatting only)';
}

function canonicalOrNull(v: unknown): string | null {
  if (v === undefined) return null;
  try {
    return canonicalJson(v);
  } catch {
    return String(v);
  }
}
