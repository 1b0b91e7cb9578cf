// Filters, keyset cursors and read-side decryption shared by the audit store's query (and available to stream).
import { type SelectQueryBuilder } from 'typeorm';
import { AUDIT_DECISIONS, AUDIT_OUTCOMES, type AuditEvent, type AuditQuery } from './audit-event.js';
import { type AuditEventRow } from './audit-event.entity.js';
import { type AuditFieldCipher, ERASED_PLACEHOLDER, isSealed, SEALED_PREFIX } from './audit-hooks.js';
import { AuditEventInvalidError } from './audit-store.errors.js';

/** Fields that may hold sealed (encrypted) values. */
export const SEALABLE_FIELDS = ['argsSummary', 'resultSummary', 'errorMessage'] as const;
/** Fields that are never encrypted: free-text search always covers them. */
const PLAIN_TEXT_FIELDS = [
  'target',
  'server',
  'method',
  'user',
  'policy',
  'intent',
  'operationId',
  'sessionId',
] as const;
const MAX_TEXT = 200;

/**
 * Adds every filter of `filter` as bound parameters (never spliced into SQL), so hostile values such as
 * `%' OR 1=1 --` are only ever compared as data. LIKE wildcards in `text` are escaped: it is a plain substring.
 */
export function applyAuditFilter(
  qb: SelectQueryBuilder<AuditEventRow>,
  filter: AuditQuery,
): SelectQueryBuilder<AuditEventRow> {
  for (const key of ['server', 'tenant', 'user', 'decision', 'operationId', 'target', 'outcome'] as const) {
    const value = filter[key];
    if (value !== undefined) qb.andWhere(`e.${key} = :${key}`, { [key]: value });
  }
  if (filter.since) qb.andWhere('e.time >= :since', { since: filter.since });
  if (filter.until) qb.andWhere('e.time < :until', { until: filter.until });
  if (filter.text !== undefined) {
    const pattern = `%${escapeLike(filter.text.toLowerCase())}%`;
    const like = (field: string) => `LOWER(e.${field}) LIKE :text ESCAPE '\\'`;
    const clauses = [
      ...PLAIN_TEXT_FIELDS.map(like),
      // A sealed value's base64 could contain the search text by chance: only plaintext values count.
      ...SEALABLE_FIELDS.map((f) => `(${like(f)} AND e.${f} NOT LIKE :sealed)`),
    ];
    qb.andWhere(`(${clauses.join(' OR ')})`, { text: pattern, sealed: `${SEALED_PREFIX}%` });
  }
  if (filter.cursor !== undefined) {
    const { time, id } = decodeAuditCursor(filter.cursor);
    // Row-value comparison: SQLite (>= 3.15) and PostgreSQL both compare (a, b) lexicographically.
    const op = filter.order === 'asc' ? '>' : '<';
    qb.andWhere(`(e.time, e.id) ${op} (:cursorTime, :cursorId)`, { cursorTime: time, cursorId: id });
  }
  return qb;
}

/** Validates a query before it reaches the database; returns the limit to apply. */
export function checkAuditQuery(filter: AuditQuery, defaults: { limit: number; maxLimit: number }): number {
  const fail = (message: string): never => {
    throw new AuditEventInvalidError(`invalid audit query: ${message}`);
  };
  if (filter.decision !== undefined && !AUDIT_DECISIONS.includes(filter.decision)) {
    fail(`decision must be one of ${AUDIT_DECISIONS.join(', ')}`);
  }
  if (filter.outcome !== undefined && !AUDIT_OUTCOMES.includes(filter.outcome)) {
    fail(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
  }
  if (filter.order !== undefined && filter.order !== 'asc' && filter.order !== 'desc')
    fail(`order must be asc or desc`);
  for (const key of ['since', 'until'] as const) {
    const value = filter[key];
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime())))
      fail(`${key} must be a valid Date`);
  }
  if (filter.text !== undefined && (filter.text === '' || filter.text.length > MAX_TEXT)) {
    fail(`text must be 1 to ${MAX_TEXT} characters`);
  }
  if (filter.cursor !== undefined) decodeAuditCursor(filter.cursor);
  const limit = filter.limit ?? defaults.limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > defaults.maxLimit)
    fail(`limit must be an integer from 1 to ${defaults.maxLimit}`);
  return limit;
}

/** An opaque cursor naming the position just after `event` (in either order). */
export function encodeAuditCursor(event: Pick<AuditEvent, 'time' | 'id'>): string {
  return Buffer.from(JSON.stringify([event.time.toISOString(), event.id]), 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: string): { time: Date; id: string } {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const time = new Date(value[0]);
      if (!Number.isNaN(time.getTime()) && /^[0-9a-f-]{36}$/.test(value[1])) return { time, id: value[1] };
    }
  } catch {
    // fall through to the one error below
  }
  throw new AuditEventInvalidError('invalid audit query: cursor is not one this command printed (copy it whole)');
}

/**
 * Opens sealed fields in place: plaintext when the tenant key exists, `[erased]` when it was crypto-shredded,
 * `[unreadable: why]` when the value does not decrypt. Without a cipher, sealed values are left as they are.
 */
export async function openSealedFields(
  events: AuditEvent[],
  cipher: AuditFieldCipher | undefined,
): Promise<AuditEvent[]> {
  if (!cipher) return events;
  for (const event of events) {
    for (const field of SEALABLE_FIELDS) {
      const value = event[field];
      if (value === undefined || !isSealed(value)) continue;
      try {
        event[field] = (await cipher.open(event.tenant, value)) ?? ERASED_PLACEHOLDER;
      } catch (error) {
        if ((error as { code?: string }).code === 'AUDIT_STORE_UNAVAILABLE') throw error;
        event[field] = `[unreadable: ${(error as Error).message}]`;
      }
    }
  }
  return events;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
