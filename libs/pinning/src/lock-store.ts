// The pin lock file (`<dataDir>/tools.lock.json`): server -> kind -> name -> pin, plus pending changes awaiting an
// operator. Several gateway processes and the CLI share it: every change takes an inter-process lock
// (proper-lockfile), re-reads the file, applies the change and writes a temp file that is renamed over the old
// one (write-file-atomic), so readers never see a torn file and no writer loses another's change.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { PinningError } from './canonical.js';

export const PIN_KINDS = ['tools', 'prompts', 'resources', 'resourceTemplates', 'instructions'] as const;
export type PinKind = (typeof PIN_KINDS)[number];
/** The kinds that come as lists (`instructions` is one text per server). */
export type ListKind = Exclude<PinKind, 'instructions'>;
/** The single entry name under kind `instructions`. */
export const INSTRUCTIONS_NAME = 'instructions';

export interface PinEntry {
  hash: string;
  firstSeen: string;
  approvedBy?: string;
  approvedAt?: string;
  /** The pinned definition, kept so a reviewer can diff it against a pending one. */
  definition?: unknown;
}

export interface PendingChange {
  kind: PinKind;
  name: string;
  reason: 'changed' | 'new';
  oldHash?: string;
  newHash: string;
  seenAt: string;
  /** The definition as the server now offers it, for review. */
  definition: unknown;
}

export type ServerPins = { [K in PinKind]?: Record<string, PinEntry> } & { pending: PendingChange[] };

export interface LockFile {
  version: 1;
  servers: Record<string, ServerPins>;
}

const pinEntry = z.object({
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>'),
  firstSeen: z.string(),
  approvedBy: z.string().optional(),
  approvedAt: z.string().optional(),
  definition: z.unknown().optional(),
});
const pending = z.object({
  kind: z.enum(PIN_KINDS),
  name: z.string(),
  reason: z.enum(['changed', 'new']),
  oldHash: z.string().optional(),
  newHash: z.string(),
  seenAt: z.string(),
  definition: z.unknown(),
});
const serverPins = z.object({
  tools: z.record(z.string(), pinEntry).optional(),
  prompts: z.record(z.string(), pinEntry).optional(),
  resources: z.record(z.string(), pinEntry).optional(),
  resourceTemplates: z.record(z.string(), pinEntry).optional(),
  instructions: z.record(z.string(), pinEntry).optional(),
  pending: z.array(pending).default([]),
});
const lockSchema = z.object({ version: z.literal(1), servers: z.record(z.string(), serverPins) });

export function emptyLock(): LockFile {
  return { version: 1, servers: {} };
}

export function serverPinsOf(lock: LockFile, server: string): ServerPins {
  const existing = lock.servers[server];
  if (existing) return existing;
  const created: ServerPins = { pending: [] };
  lock.servers[server] = created;
  return created;
}

/** Parses lock file text; a damaged file is an error naming the file and the first bad field (never "no pins"). */
export function parseLock(text: string, path: string): LockFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PinningError(
      `pin lock file ${path} is not JSON (${(error as Error).message}); restore it from version control or delete it and run 'atom-gov tools pin'`,
    );
  }
  const parsed = lockSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PinningError(
      `pin lock file ${path} is not valid at '${issue.path.join('.')}': ${issue.message}; restore it or delete it and run 'atom-gov tools pin'`,
    );
  }
  return parsed.data as LockFile;
}

export class LockStore {
  private cached: LockFile = emptyLock();
  private signature = '';

  constructor(readonly path: string) {}

  /** The lock as on disk now; re-read only when the file changed (stat is cheap, parsing is not). */
  current(): LockFile {
    let sig: string;
    try {
      const st = statSync(this.path);
      sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      sig = 'missing';
    }
    if (sig !== this.signature) {
      this.cached = sig === 'missing' ? emptyLock() : parseLock(readFileSync(this.path, 'utf8'), this.path);
      this.signature = sig;
    }
    return this.cached;
  }

  /**
   * Runs `change` on the freshly read lock under the inter-process lock and writes the result atomically when it
   * returns `changed: true`.
   */
  async update<T>(change: (lock: LockFile) => { changed: boolean; value: T }): Promise<T> {
    mkdirSync(dirname(this.path), { recursive: true });
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.path, {
        realpath: false, // the lock file may not exist yet
        stale: 10_000,
        retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 100 },
      });
    } catch (error) {
      throw new PinningError(`cannot lock pin file ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      this.signature = ''; // force a re-read: another process may have written since our last look
      const lock = structuredClone(this.current());
      const { changed, value } = change(lock);
      if (changed) {
        await writeFileAtomic(this.path, `${JSON.stringify(lock, null, 2)}\n`, { fsync: true });
        this.signature = '';
      }
      return value;
    } finally {
      await release().catch(() => {});
    }
  }
}
