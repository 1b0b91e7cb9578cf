/**
 * The audit database cannot take or return events. Governance fails closed on it: a caller that cannot make
 * its audit record durable must not let the operation through.
 */
export class AuditStoreUnavailableError extends Error {
  readonly code = 'AUDIT_STORE_UNAVAILABLE';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`audit store unavailable: ${detail}`, options);
    this.name = 'AuditStoreUnavailableError';
  }
}

/** An event or query the store refuses before touching the database (so one bad event never fails a batch). */
export class AuditEventInvalidError extends Error {
  readonly code = 'AUDIT_EVENT_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'AuditEventInvalidError';
  }
}

/** Human-readable reason of a driver error, without stack or credentials. */
export function describeCause(error: unknown): string {
  // Duck-typed rather than `instanceof`: errors from Node built-ins may come from another realm (e.g. Jest's vm).
  if (error instanceof AggregateError && error.errors.length > 0) return describeCause(error.errors[0]);
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    return error.message || String(error);
  }
  return String(error);
}
