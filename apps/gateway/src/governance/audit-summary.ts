// What an audit record keeps of arguments and results, by audit level: full = the JSON with PII redacted,
// summary = keys and sizes only (never values), none = nothing.
export type AuditLevel = 'full' | 'summary' | 'none';

/** Audit summaries are bounded so one huge result cannot bloat the trail. */
export const MAX_AUDIT_TEXT = 8192;

export function auditText(level: AuditLevel, value: unknown, redact?: (v: unknown) => unknown): string | undefined {
  if (level === 'none' || value === undefined) return undefined;
  const text = level === 'full' ? JSON.stringify(redact ? redact(value) : value) : JSON.stringify(shape(value, 0));
  if (text === undefined) return undefined;
  return text.length > MAX_AUDIT_TEXT ? `${text.slice(0, MAX_AUDIT_TEXT)}…(${text.length} chars)` : text;
}

/** Keys and sizes: objects keep their keys (three levels), every leaf becomes its type and JSON size. */
function shape(value: unknown, depth: number): unknown {
  if (Array.isArray(value)) {
    if (depth >= 3) return `array[${value.length}] ${size(value)}B`;
    return value.map((v) => shape(v, depth + 1));
  }
  if (value !== null && typeof value === 'object') {
    if (depth >= 3) return `object ${size(value)}B`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // The content item's type is structure, not data: keep it so the summary says what came back.
      out[k] = k === 'type' && typeof v === 'string' && v.length < 32 ? v : shape(v, depth + 1);
    }
    return out;
  }
  return `${value === null ? 'null' : typeof value} ${size(value)}B`;
}

function size(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v) ?? '');
}
