// The gateway-side pin check. Hashing happens when a list passes through (`filterList`, `checkInstructions`); a
// call only looks its name up in a map (`checkCall`), re-reading the lock file only for a blocked name so that an
// approval made by `atom-gov tools approve` in another process takes effect without a restart.
import { definitionHash } from './canonical.js';
import {
  INSTRUCTIONS_NAME,
  LockStore,
  serverPinsOf,
  type ListKind,
  type LockFile,
  type PendingChange,
  type PinKind,
} from './lock-store.js';

export type PinningMode = 'tofu' | 'strict' | 'off';
export type BlockReason = 'changed' | 'new' | 'invalid';

export interface BlockedItem {
  name: string;
  reason: BlockReason;
  oldHash?: string;
  /** Undefined only for `invalid` (a definition that cannot be canonicalised). */
  newHash?: string;
}

export interface PinBlockedEvent extends BlockedItem {
  server: string;
  kind: PinKind;
  /** The text the assistant gets when it calls the item (names the approve command). */
  message: string;
  definition: unknown;
  /** True when this process recorded the pending change in the lock file: alert on these to alert once. */
  recorded: boolean;
}

export interface PinnedEvent {
  server: string;
  kind: PinKind;
  name: string;
  hash: string;
}

export interface PinningServiceOptions {
  lockPath: string;
  /** `tofu` (default): a server/kind never seen is pinned as first listed; `strict`: unpinned = blocked. */
  mode?: PinningMode;
  /** Awaited once per blocked item and new hash per process; a rejection fails the listing (fail closed). */
  onBlocked?: (event: PinBlockedEvent) => void | Promise<void>;
  /** Awaited for each pin recorded on first use. */
  onPinned?: (event: PinnedEvent) => void | Promise<void>;
  now?: () => Date;
}

export type CheckResult = { ok: true } | { ok: false; reason: BlockReason | 'unknown'; message: string };

export interface FilterResult<T> {
  /** The items minus changed, new-after-first-use and invalid ones, in the upstream's order. */
  items: T[];
  blocked: BlockedItem[];
}

export interface PinningService {
  readonly mode: PinningMode;
  readonly lockPath: string;
  /** `opts.cursor`: the list request's cursor (pages after the first continue the first page's first-use pass). */
  filterList<T extends object>(
    server: string,
    kind: ListKind,
    items: readonly T[],
    opts?: { cursor?: unknown },
  ): Promise<FilterResult<T>>;
  checkCall(server: string, kind: ListKind, name: string): CheckResult;
  /** When not ok, serve the session without the instructions (or refuse it). */
  checkInstructions(server: string, instructions: string | undefined): Promise<CheckResult>;
}

const LABEL: Record<PinKind, string> = {
  tools: 'Tool',
  prompts: 'Prompt',
  resources: 'Resource',
  resourceTemplates: 'Resource template',
  instructions: 'Instructions',
};

/** The identity of an item within its kind: tools and prompts by name, resources by URI, templates by template. */
export function itemKey(kind: PinKind, item: unknown): string | undefined {
  if (kind === 'instructions') return INSTRUCTIONS_NAME;
  if (typeof item !== 'object' || item === null) return undefined;
  const field = kind === 'resources' ? 'uri' : kind === 'resourceTemplates' ? 'uriTemplate' : 'name';
  const value = (item as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

const SAFE_ARG = /^[\w@%+=:,./-]+$/;
const shellArg = (s: string) => (SAFE_ARG.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command an operator runs to accept a pending change. */
export function approveCommand(server: string, kind: PinKind, name: string): string {
  const kindFlag = kind === 'tools' ? '' : ` --kind ${kind}`;
  const target = kind === 'instructions' ? '' : ` --tool ${shellArg(name)}`;
  return `atom-gov tools approve --server ${shellArg(server)}${kindFlag}${target}`;
}

export function blockedMessage(
  server: string,
  kind: PinKind,
  item: BlockedItem | { name: string; reason: 'unknown' },
): string {
  const what =
    kind === 'instructions'
      ? `Instructions of server '${server}'`
      : `${LABEL[kind]} '${item.name}' of server '${server}'`;
  const short = (h?: string) => (h ? h.slice(0, 19) : '?');
  const approve = approveCommand(server, kind, item.name);
  switch (item.reason) {
    case 'changed':
      return `${what} changed since it was pinned (${short(item.oldHash)}… -> ${short(item.newHash)}…) and is blocked until an operator reviews it: run '${approve}'`;
    case 'new':
      return `${what} appeared after the server was pinned and is blocked until an operator reviews it: run '${approve}'`;
    case 'invalid':
      return `${what} has a definition that cannot be canonicalised (not plain JSON) and stays blocked`;
    case 'unknown':
      return `${what} is not pinned and pinning is strict: list it so it is recorded for review, then run '${approve}' (or pin the server with 'atom-gov tools pin --server ${shellArg(server)}')`;
  }
}

interface Entry {
  key: string | undefined;
  value: unknown;
}

type Verdict =
  | { status: 'ok'; key: string; hash: string; pinnedNow: boolean }
  | { status: 'blocked'; key: string; blocked: BlockedItem; recorded: boolean };

/**
 * Compares entries with the lock and (unless `dryRun`) records first-use pins and pending changes in it.
 * Returns the verdicts and whether the lock changed (or would change).
 */
function reconcile(
  lock: LockFile,
  server: string,
  kind: PinKind,
  entries: Entry[],
  tofuOpen: boolean,
  mode: PinningMode,
  nowIso: string,
  dryRun: boolean,
): { verdicts: Verdict[]; changed: boolean } {
  const existing = lock.servers[server];
  const pins = existing?.[kind];
  let changed = false;
  const pinsFor = () => {
    const sp = serverPinsOf(lock, server);
    return (sp[kind] ??= {});
  };
  if (tofuOpen && !pins) {
    changed = true;
    if (!dryRun) pinsFor();
  }
  const verdicts: Verdict[] = [];
  for (const { key, value } of entries) {
    let hash: string | undefined;
    try {
      hash = definitionHash(value);
    } catch {
      hash = undefined;
    }
    const name = key ?? '';
    if (key === undefined || hash === undefined) {
      verdicts.push({ status: 'blocked', key: name, blocked: { name, reason: 'invalid' }, recorded: false });
      continue;
    }
    const pin = (dryRun ? pins : (lock.servers[server]?.[kind] ?? pins))?.[key];
    const pendingList = existing?.pending ?? [];
    const pendingIdx = pendingList.findIndex((p) => p.kind === kind && p.name === key);
    if (pin && pin.hash === hash) {
      if (pendingIdx >= 0) {
        // The server went back to the pinned definition: nothing is left to review.
        changed = true;
        if (!dryRun) serverPinsOf(lock, server).pending.splice(pendingIdx, 1);
      }
      verdicts.push({ status: 'ok', key, hash, pinnedNow: false });
      continue;
    }
    if (!pin && tofuOpen && mode === 'tofu') {
      changed = true;
      if (!dryRun) pinsFor()[key] = { hash, firstSeen: nowIso, definition: value };
      verdicts.push({ status: 'ok', key, hash, pinnedNow: true });
      continue;
    }
    const blocked: BlockedItem = pin
      ? { name: key, reason: 'changed', oldHash: pin.hash, newHash: hash }
      : { name: key, reason: 'new', newHash: hash };
    const current = pendingIdx >= 0 ? pendingList[pendingIdx] : undefined;
    let recorded = false;
    if (!current || current.newHash !== hash) {
      changed = true;
      recorded = true;
      if (!dryRun) {
        const change: PendingChange = {
          kind,
          name: key,
          reason: blocked.reason as 'changed' | 'new',
          ...(blocked.oldHash ? { oldHash: blocked.oldHash } : {}),
          newHash: hash,
          seenAt: nowIso,
          definition: value,
        };
        const list = serverPinsOf(lock, server).pending;
        const at = list.findIndex((p) => p.kind === kind && p.name === key);
        if (at >= 0) list[at] = change;
        else list.push(change);
      }
    }
    verdicts.push({ status: 'blocked', key, blocked, recorded });
  }
  return { verdicts, changed };
}

export function createPinningService(opts: PinningServiceOptions): PinningService {
  const mode = opts.mode ?? 'tofu';
  const store = new LockStore(opts.lockPath);
  const now = opts.now ?? (() => new Date());
  /** server\0kind\0name -> the last verdict from a listing ('ok' or why it is blocked). */
  const state = new Map<string, 'ok' | BlockedItem>();
  /** server\0kind -> whether the current listing pass (first page onwards) is a first use. */
  const passes = new Map<string, boolean>();
  const emitted = new Set<string>();
  const k = (...parts: string[]) => parts.join('\u0000');

  async function run(server: string, kind: PinKind, entries: Entry[], tofuOpen: boolean): Promise<Verdict[]> {
    const nowIso = now().toISOString();
    const dry = reconcile(store.current(), server, kind, entries, tofuOpen, mode, nowIso, true);
    let verdicts = dry.verdicts;
    if (dry.changed) {
      verdicts = await store.update((lock) => {
        const r = reconcile(lock, server, kind, entries, tofuOpen, mode, nowIso, false);
        return { changed: r.changed, value: r.verdicts };
      });
    }
    for (let i = 0; i < verdicts.length; i++) {
      const v = verdicts[i]!;
      if (v.status === 'ok') {
        state.set(k(server, kind, v.key), 'ok');
        if (v.pinnedNow) await opts.onPinned?.({ server, kind, name: v.key, hash: v.hash });
        continue;
      }
      state.set(k(server, kind, v.key), v.blocked);
      const once = k(server, kind, v.key, v.blocked.reason, v.blocked.newHash ?? '');
      if (emitted.has(once) && !v.recorded) continue;
      emitted.add(once);
      await opts.onBlocked?.({
        ...v.blocked,
        server,
        kind,
        message: blockedMessage(server, kind, v.blocked),
        definition: entries[i]!.value,
        recorded: v.recorded,
      });
    }
    return verdicts;
  }

  return {
    mode,
    lockPath: opts.lockPath,

    async filterList<T extends object>(
      server: string,
      kind: ListKind,
      items: readonly T[],
      listOpts: { cursor?: unknown } = {},
    ): Promise<FilterResult<T>> {
      if (mode === 'off') return { items: [...items], blocked: [] };
      const passKey = k(server, kind);
      let tofuOpen: boolean;
      if (listOpts.cursor === undefined || listOpts.cursor === null) {
        tofuOpen = mode === 'tofu' && store.current().servers[server]?.[kind] === undefined;
        passes.set(passKey, tofuOpen);
      } else {
        tofuOpen = passes.get(passKey) ?? false;
      }
      const entries = items.map((value) => ({ key: itemKey(kind, value), value }));
      const verdicts = await run(server, kind, entries, tofuOpen);
      const blocked: BlockedItem[] = [];
      const kept: T[] = [];
      verdicts.forEach((v, i) => {
        if (v.status === 'ok') kept.push(items[i]!);
        else blocked.push(v.blocked);
      });
      return { items: kept, blocked };
    },

    checkCall(server: string, kind: ListKind, name: string): CheckResult {
      if (mode === 'off') return { ok: true };
      // Built inline (same key as k()): this runs on every call of a pinned server.
      const key = `${server}\u0000${kind}\u0000${name}`;
      const seen = state.get(key);
      if (seen === 'ok') return { ok: true };
      const lock = store.current();
      const sp = lock.servers[server];
      const pin = sp?.[kind]?.[name];
      if (seen !== undefined) {
        // Approved meanwhile (by the CLI, maybe in another process)?
        if (pin && seen.newHash !== undefined && pin.hash === seen.newHash) {
          state.set(key, 'ok');
          return { ok: true };
        }
        return { ok: false, reason: seen.reason, message: blockedMessage(server, kind, seen) };
      }
      const pending = sp?.pending.find((p) => p.kind === kind && p.name === name);
      if (pending) {
        const item: BlockedItem = {
          name,
          reason: pending.reason,
          newHash: pending.newHash,
          ...(pending.oldHash ? { oldHash: pending.oldHash } : {}),
        };
        return { ok: false, reason: pending.reason, message: blockedMessage(server, kind, item) };
      }
      if (pin) return { ok: true };
      // Resource URIs are open-ended (templates expand to URIs no listing shows): only listed ones are pinned.
      if (kind === 'resources') return { ok: true };
      if (mode === 'strict')
        return { ok: false, reason: 'unknown', message: blockedMessage(server, kind, { name, reason: 'unknown' }) };
      // First use before any listing: nothing to compare against yet; the first listing pins it.
      if (sp?.[kind] === undefined) return { ok: true };
      const item: BlockedItem = { name, reason: 'new' };
      return { ok: false, reason: 'new', message: blockedMessage(server, kind, item) };
    },

    async checkInstructions(server: string, instructions: string | undefined): Promise<CheckResult> {
      if (mode === 'off') return { ok: true };
      const tofuOpen = mode === 'tofu' && store.current().servers[server]?.instructions === undefined;
      // No instructions: nothing to pin, but remember the server was seen so instructions appearing later are new.
      const entries: Entry[] = instructions === undefined ? [] : [{ key: INSTRUCTIONS_NAME, value: instructions }];
      const [v] = await run(server, 'instructions', entries, tofuOpen);
      if (!v || v.status === 'ok') return { ok: true };
      return { ok: false, reason: v.blocked.reason, message: blockedMessage(server, 'instructions', v.blocked) };
    },
  };
}
