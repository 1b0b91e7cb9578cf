/**
 * Hooks the audit store applies to free-text fields (argsSummary, resultSummary, errorMessage).
 * On append: redact -> seal -> hash (the chain covers the ciphertext, so crypto-shredding a
 * tenant's key keeps the chain verifiable). On read: open.
 */

/** Removes personal data before storage; `kinds` names what was removed (never the value). */
export interface AuditRedactor {
  redact(text: string): { text: string; kinds: string[] };
}

/**
 * Field-level encryption under per-tenant data keys. Sealed form: `enc:v1:<keyId>:<base64>`.
 * `open` returns undefined when the tenant's key was shredded (erased).
 */
export interface AuditFieldCipher {
  seal(tenant: string, plaintext: string): Promise<string>;
  open(tenant: string, sealed: string): Promise<string | undefined>;
}

/** Prefix of a sealed field value. */
export const SEALED_PREFIX = 'enc:v1:';

/** Shown in place of a sealed field whose tenant key was destroyed. */
export const ERASED_PLACEHOLDER = '[erased]';

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}
