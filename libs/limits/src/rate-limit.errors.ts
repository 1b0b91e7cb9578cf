/** A limit spec that cannot be enforced as written; `path` names the offending field. */
export class RateLimitSpecError extends Error {
  readonly code = 'invalid_rate_limit';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'RateLimitSpecError';
  }
}

/** The counter store (Redis) could not be reached or answered with an error. */
export class RateLimitStoreError extends Error {
  readonly code = 'store_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RateLimitStoreError';
  }
}
