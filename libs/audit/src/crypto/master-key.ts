import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The key that wraps every tenant data key. Never stored in the database. */
export interface MasterKey {
  readonly key: Buffer;
  /** Short fingerprint stored beside each wrapped key, so a wrong master key is named, not a decryption error. */
  readonly id: string;
  /** Where it came from, for messages (never the key itself). */
  readonly source: string;
}

export interface MasterKeyOptions {
  /** ATOM_GOV_MASTER_KEY: 32 bytes as 64 hex characters or base64. */
  masterKey?: string;
  /** ATOM_GOV_MASTER_KEY_FILE: a file holding the key in the same encodings. */
  masterKeyFile?: string;
  /** The embedded default: `<dataDir>/master.key`, generated with mode 0600 when neither of the above is given. */
  dataDir: string;
  /** Told when a key file is generated (the operator must back it up: losing it loses every sealed field). */
  onWarning?: (message: string) => void;
}

export class MasterKeyError extends Error {
  readonly code = 'MASTER_KEY_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

export const MASTER_KEY_FILE = 'master.key';

/** Reads the master key: env value, else key file, else the data dir's generated key (created on first use). */
export function loadMasterKey(opts: MasterKeyOptions): MasterKey {
  if (opts.masterKey !== undefined && opts.masterKey !== '') {
    return fromText(opts.masterKey, 'ATOM_GOV_MASTER_KEY');
  }
  if (opts.masterKeyFile !== undefined && opts.masterKeyFile !== '') {
    return fromFile(opts.masterKeyFile, `key file ${opts.masterKeyFile}`);
  }
  const path = join(opts.dataDir, MASTER_KEY_FILE);
  if (existsSync(path)) return fromFile(path, `key file ${path}`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // 'wx': if another process generated it a moment ago, use theirs instead of overwriting it.
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, 0o600);
    opts.onWarning?.(
      `generated a master key for audit encryption at ${path} (mode 0600). Back it up: without it, encrypted ` +
        'audit fields cannot be read. In production set ATOM_GOV_MASTER_KEY or ATOM_GOV_MASTER_KEY_FILE instead.',
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return fromFile(path, `key file ${path}`);
}

function fromFile(path: string, source: string): MasterKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new MasterKeyError(`cannot read the master key ${source}: ${(error as Error).message}`);
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new MasterKeyError(`the master key ${source} is readable by other users; run: chmod 600 ${path}`);
  }
  return fromText(text, source);
}

function fromText(text: string, source: string): MasterKey {
  const value = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-f]{64}$/i.test(value)) key = Buffer.from(value, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value))
    key = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  if (key?.length !== 32) {
    throw new MasterKeyError(
      `${source} must be 32 random bytes written as 64 hex characters or base64 (e.g. the output of ` +
        '`openssl rand -hex 32`)',
    );
  }
  return { key, id: createHash('sha256').update(key).digest('hex').slice(0, 16), source };
}
