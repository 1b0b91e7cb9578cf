/** Built-in recognizers. `secret` covers cloud keys, tokens, private keys, JWTs and `password=` style assignments. */
export const BUILTIN_PII_KINDS = ['ssn', 'credit_card', 'email', 'phone', 'iban', 'ip_address', 'secret'] as const;
export type BuiltinPiiKind = (typeof BUILTIN_PII_KINDS)[number];
/** A built-in kind or the name of a custom pattern from config. */
export type PiiKind = BuiltinPiiKind | (string & {});

/** A pattern from config. The regex is checked for catastrophic backtracking when the scanner is created. */
export interface CustomPiiPattern {
  /** Kind name reported and used in masks: lower-case letters, digits, `_`; must not shadow a built-in kind. */
  name: string;
  /** JavaScript regular expression source (no slashes), e.g. `EMP-\\d{6}`. */
  pattern: string;
  /** Extra flags (`i`, `u`, `s`, `m`); `g` is always added. */
  flags?: string;
  /** When given, a match counts only if one of these words occurs shortly before it (or in the JSON key). */
  context?: string[];
  /** A string containing one match, used by `selfTest`. */
  sample?: string;
}

export type RedactionStyle = 'mask' | 'partial' | 'hash';
export type PiiAction = 'redact' | 'block' | 'alert';

export interface PiiScannerOptions {
  /** Recognizers to run; defaults to every built-in kind. The alias `secrets` means `secret`. */
  kinds?: readonly string[];
  custom?: readonly CustomPiiPattern[];
  /** What `apply` does with a value that contains PII (default `redact`). */
  action?: PiiAction;
  /** mask: `[REDACTED:kind]` (or `****` with `mask: 'stars'`); partial: keep the last 4; hash: keyed HMAC-SHA256 prefix. */
  style?: RedactionStyle;
  mask?: 'label' | 'stars';
  /** Secret for the `hash` style (at least 16 bytes); equal values give equal tokens under the same key. */
  hashKey?: string | Uint8Array;
  /** Region for numbers written without `+country` (ISO 3166 alpha-2, default `US`). */
  defaultPhoneRegion?: string;
  /** Findings below this confidence are ignored (0..1, default 0.5). */
  minConfidence?: number;
  /** Scan and redact object keys in `scanJson`/`redactJson` (default true). */
  scanKeys?: boolean;
}

/** Where PII was found. Deliberately carries no matched text, so it is safe to log and audit. */
export interface PiiFinding {
  kind: PiiKind;
  /** Sub-type, e.g. `visa`, `aws_access_key_id`, `jwt`, `ipv6`. */
  label: string;
  /** UTF-16 offsets into the ORIGINAL string (before normalisation). */
  start: number;
  end: number;
  confidence: number;
  /** JSON path of the string (`$.content[0].text`), `<json>` marks a string decoded as JSON, `{key}` a key. */
  path?: string;
}

/** Kinds and counts only (what `log_redacted` / `alert_on_pii` may record). */
export interface PiiSummary {
  found: boolean;
  total: number;
  counts: Partial<Record<PiiKind, number>>;
}

export interface PiiJsonReport {
  findings: PiiFinding[];
  summary: PiiSummary;
}

export interface PiiOutcome {
  action: PiiAction;
  /** True when the action is `block` and PII was found: the value must not pass. */
  blocked: boolean;
  /** The redacted value for `redact`; the input unchanged for `block` and `alert`. */
  value: unknown;
  summary: PiiSummary;
}

export interface SelfTestFailure {
  kind: string;
  reason: string;
}

/** Invalid scanner options (unknown kind, unsafe or invalid custom regex, missing hash key). */
export class PiiConfigError extends Error {
  override readonly name = 'PiiConfigError';
}

/** A value the scanner refuses to judge (e.g. nested too deeply); callers must treat it as failing closed. */
export class PiiScanError extends Error {
  override readonly name = 'PiiScanError';
}
