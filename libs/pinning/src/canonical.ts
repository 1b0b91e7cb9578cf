// Canonical JSON (RFC 8785 JCS: sorted keys by UTF-16 code units, no insignificant whitespace, ES number form)
// and the SHA-256 fingerprint of a definition. The same definition always hashes the same, whatever key order or
// whitespace the server sent.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export class PinningError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PinningError';
  }
}

/** Canonical JSON text of a value; throws PinningError for what JSON cannot carry (NaN, lone surrogates, cycles). */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new PinningError(`definition cannot be canonicalised: ${(error as Error).message}`, { cause: error });
  }
  if (text === undefined) throw new PinningError('definition cannot be canonicalised: it is not a JSON value');
  return text;
}

/** `sha256:<hex>` over the UTF-8 bytes of the canonical JSON. */
export function definitionHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex')}`;
}
