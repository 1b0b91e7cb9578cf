import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type DataSource } from 'typeorm';
import { type AuditDriver } from '../audit-event.entity.js';
import { type AuditFieldCipher, SEALED_PREFIX } from '../audit-hooks.js';
import { AuditStoreUnavailableError, describeCause } from '../audit-store.errors.js';
import { type MasterKey } from './master-key.js';

export const TENANT_KEYS_TABLE = 'audit_tenant_keys';

/** A data key as listed for operators: never the key material. */
export interface TenantKeyInfo {
  keyId: string;
  tenant: string;
  createdAt: Date;
  retiredAt?: Date;
  destroyedAt?: Date;
}

/** A sealed value that does not decrypt (modified, or sealed for another tenant). */
export class SealedFieldError extends Error {
  readonly code = 'SEALED_FIELD_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SealedFieldError';
  }
}

export interface TenantKeyringOptions {
  /** How long a process trusts its cached view of a tenant's keys; bounds how long a forget/rotate in another
   *  process takes to reach this one (default 10 s). */
  cacheTtlMs?: number;
  now?: () => number;
}

interface KeyRow {
  key_id: string;
  tenant: string;
  wrapped_key: string | null;
  master_key_id: string;
  created_at: string | number;
  retired_at: string | number | null;
  destroyed_at: string | number | null;
}

interface CachedKey {
  tenant: string;
  /** undefined: destroyed (crypto-shredded). */
  key: Buffer | undefined;
  loadedAt: number;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^k[0-9a-f]{16}$/;

/**
 * AES-256-GCM field encryption under per-tenant data keys (envelope encryption): each tenant's data keys are
 * random, stored wrapped by the master key, and identified by a key id carried in every sealed value
 * (`enc:v1:<keyId>:<base64(iv | tag | ciphertext)>`), so keys rotate without re-encrypting old events and a
 * tenant can be crypto-shredded by destroying its wrapped keys.
 */
export class TenantKeyring implements AuditFieldCipher {
  private readonly keys = new Map<string, CachedKey>();
  private readonly active = new Map<string, { keyId: string; loadedAt: number }>();
  private readonly pending = new Map<string, Promise<{ keyId: string; key: Buffer }>>();
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly driver: AuditDriver,
    private readonly master: MasterKey,
    opts: TenantKeyringOptions = {},
  ) {
    this.ttl = opts.cacheTtlMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  async seal(tenant: string, plaintext: string): Promise<string> {
    const { keyId, key } = await this.activeKey(tenant);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(fieldAad(tenant, keyId));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${SEALED_PREFIX}${keyId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  async open(tenant: string, sealed: string): Promise<string | undefined> {
    const { keyId, payload } = parseSealed(sealed);
    const key = await this.dataKey(keyId, tenant);
    if (key === undefined) return undefined;
    if (payload.length < IV_BYTES + TAG_BYTES) throw new SealedFieldError(`sealed value under ${keyId} is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, payload.subarray(0, IV_BYTES));
    decipher.setAAD(fieldAad(tenant, keyId));
    decipher.setAuthTag(payload.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(payload.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SealedFieldError(`sealed value under ${keyId} fails its integrity check (modified or moved)`);
    }
  }

  /** Retires the tenant's current key and creates a new one; old events stay readable under their old key. */
  async rotate(tenant: string): Promise<string> {
    await this.run(
      `UPDATE ${TENANT_KEYS_TABLE} SET retired_at = ? WHERE tenant = ? AND retired_at IS NULL AND destroyed_at IS NULL`,
      [this.now(), tenant],
    );
    this.active.delete(tenant);
    const created = await this.createKey(tenant);
    return created.keyId;
  }

  /**
   * GDPR erasure by crypto-shredding: destroys every data key of the tenant, so its sealed fields can never be
   * opened again (reads show `[erased]`); the events, their hashes and the chain stay intact. Returns how many keys
   * were destroyed.
   */
  async forget(tenant: string): Promise<number> {
    const live = await this.select(
      `SELECT key_id FROM ${TENANT_KEYS_TABLE} WHERE tenant = ? AND destroyed_at IS NULL`,
      [tenant],
    );
    if (this.driver === 'better-sqlite3') await this.run('PRAGMA secure_delete = ON', []);
    await this.run(
      `UPDATE ${TENANT_KEYS_TABLE} SET wrapped_key = NULL, destroyed_at = ? WHERE tenant = ? AND destroyed_at IS NULL`,
      [this.now(), tenant],
    );
    // Old row images must not outlive the erasure: SQLite keeps them in the WAL until a checkpoint, PostgreSQL in
    // dead tuples until VACUUM. Best effort: a failure here does not undo the erasure.
    if (this.driver === 'better-sqlite3') await this.run('PRAGMA wal_checkpoint(TRUNCATE)', []).catch(() => undefined);
    else await this.run(`VACUUM ${TENANT_KEYS_TABLE}`, []).catch(() => undefined);
    this.active.delete(tenant);
    for (const row of live) this.keys.set(row.key_id, { tenant, key: undefined, loadedAt: this.now() });
    return live.length;
  }

  /**
   * Master key rotation: re-wraps every live data key under `next` (one transaction; the data keys themselves and
   * every sealed field stay as they are). Afterwards the processes must be given `next` as their master key.
   * Returns how many keys were re-wrapped.
   */
  async rewrap(next: MasterKey): Promise<number> {
    const rows = await this.select(`SELECT * FROM ${TENANT_KEYS_TABLE} WHERE wrapped_key IS NOT NULL`, []);
    const updates = rows.map((row) => ({
      keyId: row.key_id,
      wrapped: wrapKey(next, row.tenant, row.key_id, this.unwrap(row)),
    }));
    let n = 0;
    const sql = (text: string) => (this.driver === 'postgres' ? text.replace(/\?/g, () => `$${++n}`) : text);
    try {
      await this.dataSource.transaction(async (manager) => {
        for (const u of updates) {
          n = 0;
          await manager.query(
            sql(
              `UPDATE ${TENANT_KEYS_TABLE} SET wrapped_key = ?, master_key_id = ? WHERE key_id = ? AND wrapped_key IS NOT NULL`,
            ),
            [u.wrapped, next.id, u.keyId],
          );
        }
      });
    } catch (cause) {
      throw new AuditStoreUnavailableError(`tenant keys: ${describeCause(cause)}`, { cause });
    }
    return updates.length;
  }

  /** Every data key (optionally of one tenant), oldest first, without key material. */
  async list(tenant?: string): Promise<TenantKeyInfo[]> {
    const rows = await this.select(
      `SELECT * FROM ${TENANT_KEYS_TABLE}${tenant === undefined ? '' : ' WHERE tenant = ?'} ORDER BY created_at, key_id`,
      tenant === undefined ? [] : [tenant],
    );
    return rows.map((r) => ({
      keyId: r.key_id,
      tenant: r.tenant,
      createdAt: new Date(Number(r.created_at)),
      ...(r.retired_at !== null ? { retiredAt: new Date(Number(r.retired_at)) } : {}),
      ...(r.destroyed_at !== null ? { destroyedAt: new Date(Number(r.destroyed_at)) } : {}),
    }));
  }

  private async activeKey(tenant: string): Promise<{ keyId: string; key: Buffer }> {
    const cached = this.active.get(tenant);
    if (cached && this.now() - cached.loadedAt < this.ttl) {
      const key = this.keys.get(cached.keyId)?.key;
      if (key) return { keyId: cached.keyId, key };
    }
    // Concurrent first seals of a tenant share one lookup (and create at most one key per process).
    let lookup = this.pending.get(tenant);
    if (!lookup) {
      lookup = this.loadActive(tenant).finally(() => this.pending.delete(tenant));
      this.pending.set(tenant, lookup);
    }
    return lookup;
  }

  private async loadActive(tenant: string): Promise<{ keyId: string; key: Buffer }> {
    const [row] = await this.select(
      `SELECT * FROM ${TENANT_KEYS_TABLE} WHERE tenant = ? AND retired_at IS NULL AND destroyed_at IS NULL ` +
        'ORDER BY created_at DESC, key_id DESC LIMIT 1',
      [tenant],
    );
    if (row?.wrapped_key) {
      const key = this.unwrap(row);
      this.remember(row.key_id, tenant, key);
      return { keyId: row.key_id, key };
    }
    return this.createKey(tenant);
  }

  private async createKey(tenant: string): Promise<{ keyId: string; key: Buffer }> {
    const keyId = `k${randomBytes(8).toString('hex')}`;
    const key = randomBytes(32);
    const wrapped = wrapKey(this.master, tenant, keyId, key);
    await this.run(
      `INSERT INTO ${TENANT_KEYS_TABLE} (key_id, tenant, wrapped_key, master_key_id, created_at) VALUES (?, ?, ?, ?, ?)`,
      [keyId, tenant, wrapped, this.master.id, this.now()],
    );
    this.remember(keyId, tenant, key);
    return { keyId, key };
  }

  private async dataKey(keyId: string, tenant: string): Promise<Buffer | undefined> {
    let cached = this.keys.get(keyId);
    if (!cached || this.now() - cached.loadedAt >= this.ttl) {
      const [row] = await this.select(`SELECT * FROM ${TENANT_KEYS_TABLE} WHERE key_id = ?`, [keyId]);
      if (!row) throw new SealedFieldError(`sealed with unknown data key ${keyId} (not in this database)`);
      cached = { tenant: row.tenant, key: row.wrapped_key ? this.unwrap(row) : undefined, loadedAt: this.now() };
      this.keys.set(keyId, cached);
    }
    if (cached.tenant !== tenant) throw new SealedFieldError(`data key ${keyId} belongs to another tenant`);
    return cached.key;
  }

  private remember(keyId: string, tenant: string, key: Buffer): void {
    const loadedAt = this.now();
    this.keys.set(keyId, { tenant, key, loadedAt });
    this.active.set(tenant, { keyId, loadedAt });
  }

  private unwrap(row: KeyRow): Buffer {
    if (row.master_key_id !== this.master.id) {
      throw new SealedFieldError(
        `data key ${row.key_id} of tenant '${row.tenant}' is wrapped by master key ${row.master_key_id}, but the ` +
          `configured master key (${this.master.source}) is ${this.master.id}: set ATOM_GOV_MASTER_KEY or ` +
          'ATOM_GOV_MASTER_KEY_FILE to the key this database was written with',
      );
    }
    const wrapped = Buffer.from(row.wrapped_key ?? '', 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.master.key, wrapped.subarray(0, IV_BYTES));
    decipher.setAAD(wrapAad(row.tenant, row.key_id));
    decipher.setAuthTag(wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealedFieldError(`wrapped data key ${row.key_id} fails its integrity check`);
    }
  }

  private async select(sql: string, params: unknown[]): Promise<KeyRow[]> {
    return (await this.run(sql, params)) as KeyRow[];
  }

  private async run(sql: string, params: unknown[]): Promise<unknown> {
    let n = 0;
    const text = this.driver === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
    try {
      return await this.dataSource.query(text, params);
    } catch (cause) {
      throw new AuditStoreUnavailableError(`tenant keys: ${describeCause(cause)}`, { cause });
    }
  }
}

/** Splits `enc:v1:<keyId>:<base64>`; anything else is a SealedFieldError. */
export function parseSealed(sealed: string): { keyId: string; payload: Buffer } {
  if (!sealed.startsWith(SEALED_PREFIX)) throw new SealedFieldError('not a sealed value (no enc:v1: prefix)');
  const rest = sealed.slice(SEALED_PREFIX.length);
  const colon = rest.indexOf(':');
  const keyId = rest.slice(0, colon);
  if (colon < 0 || !KEY_ID.test(keyId)) throw new SealedFieldError('sealed value has no valid key id');
  return { keyId, payload: Buffer.from(rest.slice(colon + 1), 'base64') };
}

// Associated data binds a ciphertext to its tenant and key: a sealed field copied into another tenant's event
// does not open there.
function fieldAad(tenant: string, keyId: string): Buffer {
  return Buffer.from(`atom-gov/audit-field/v1\u0000${tenant}\u0000${keyId}`, 'utf8');
}

function wrapKey(master: MasterKey, tenant: string, keyId: string, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', master.key, iv);
  cipher.setAAD(wrapAad(tenant, keyId));
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function wrapAad(tenant: string, keyId: string): Buffer {
  return Buffer.from(`atom-gov/data-key/v1\u0000${tenant}\u0000${keyId}`, 'utf8');
}
