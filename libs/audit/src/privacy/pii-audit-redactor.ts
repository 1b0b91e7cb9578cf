import { createPiiScanner, type PiiScannerOptions } from '@atom-gov/pii';
import { type AuditRedactor } from '../audit-hooks.js';

/**
 * PII redaction before storage (`pii_redaction: true`) with the gateway's own recognizers. A summary that is JSON
 * is redacted as JSON (keys such as `ssn` count as context); anything else as text. Only kinds come back, never
 * the values, so they can go into the event's notes (`log_redacted`).
 */
export function createPiiAuditRedactor(opts: PiiScannerOptions = {}): AuditRedactor {
  const scanner = createPiiScanner({ ...opts, action: 'redact' });
  return {
    redact(text: string) {
      try {
        return redactWith(text);
      } catch {
        // A value the scanner refuses to judge (e.g. nested too deeply) is not stored at all: privacy fails closed,
        // the audit record itself still goes through.
        return { text: '[redacted: value could not be scanned for PII]', kinds: ['unscannable'] };
      }
    },
  };

  function redactWith(text: string): { text: string; kinds: string[] } {
    const json = parseJson(text);
    if (json !== undefined && typeof json === 'object' && json !== null) {
      const { value, summary } = scanner.redactJson(json);
      return summary.found ? { text: JSON.stringify(value), kinds: kindsOf(summary.counts) } : { text, kinds: [] };
    }
    const { text: redacted, summary } = scanner.redactText(text);
    return { text: redacted, kinds: kindsOf(summary.counts) };
  }
}

function kindsOf(counts: Partial<Record<string, number>>): string[] {
  return Object.keys(counts)
    .filter((k) => (counts[k] ?? 0) > 0)
    .sort();
}

function parseJson(text: string): unknown {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
