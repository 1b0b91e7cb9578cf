import { createHmac } from 'node:crypto';
import safeRegex from 'safe-regex2';
import type { CountryCode } from 'libphonenumber-js/core';
import { normalizeText, toOriginalRange } from './normalize.js';
import {
  BUILTIN_RECOGNIZERS,
  digitClusters,
  execAll,
  SECRET_KEY_RE,
  NOT_SECRET_KEY_RE,
  nearContext,
  secretValueOk,
  type Candidate,
  type Recognizer,
  type ScanContext,
} from './recognizers.js';
import {
  BUILTIN_PII_KINDS,
  PiiConfigError,
  PiiScanError,
  type CustomPiiPattern,
  type PiiAction,
  type PiiFinding,
  type PiiJsonReport,
  type PiiKind,
  type PiiOutcome,
  type PiiScannerOptions,
  type PiiSummary,
  type RedactionStyle,
} from './pii.types.js';

export interface PiiScanner {
  /** Enabled kinds (built-in and custom), in a stable order. */
  readonly kinds: readonly PiiKind[];
  /** Findings in `text`; `context` is a label for the whole string (e.g. its JSON key) that counts as context. */
  scanText(text: string, context?: string): PiiFinding[];
  /** Findings in every string leaf (and key) of a decoded JSON value; strings holding JSON are decoded and scanned. */
  scanJson(value: unknown): PiiJsonReport;
  redactText(text: string, context?: string): { text: string; summary: PiiSummary };
  /** A redacted copy (the input is not modified). Redacted numbers become strings. */
  redactJson(value: unknown): { value: unknown; summary: PiiSummary };
  /** Carry out the configured action on a string or JSON value. */
  apply(value: unknown): PiiOutcome;
}

const KIND_ALIASES: Readonly<Record<string, string>> = { secrets: 'secret', ip: 'ip_address', cc: 'credit_card' };
const PARTIAL_KINDS = new Set(['ssn', 'credit_card', 'phone', 'iban']);
const NUMBER_KINDS = new Set(['ssn', 'credit_card', 'phone', 'ip_address']);
const MIN_TEXT = 6; // shorter strings cannot hold any built-in kind (a@b.co, 1.2.3.4)
const MAX_JSON_NESTING = 4; // JSON inside a string inside JSON...: deeper strings are scanned as text
const MAX_DEPTH = 512; // deeper values are refused rather than passed unscanned (or overflowing the stack)
const MAX_MEMO_KEY = 128; // longer keys are scanned every time (rare, and they would bloat the memo)
const KEY_MEMO_LIMIT = 4096;

/** Summarise findings as kinds and counts only. */
export function summarize(findings: readonly PiiFinding[]): PiiSummary {
  const counts: Partial<Record<PiiKind, number>> = {};
  for (const f of findings) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
  return { found: findings.length > 0, total: findings.length, counts };
}

// safe-regex2's parser does not know lookbehind; a lookahead has the same star height.
export function isSafePattern(re: RegExp | string): boolean {
  const source = typeof re === 'string' ? re : re.source;
  return safeRegex(source.replace(/\(\?<([=!])/g, '(?$1'));
}

function customRecognizer(p: CustomPiiPattern): Recognizer {
  const where = `custom PII pattern '${p.name}'`;
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(p.name)) {
    throw new PiiConfigError(`${where}: name must be lower-case letters, digits or '_' (e.g. employee_id)`);
  }
  if ((BUILTIN_PII_KINDS as readonly string[]).includes(p.name)) {
    throw new PiiConfigError(`${where}: '${p.name}' is a built-in kind; enable it in kinds instead`);
  }
  const flags = p.flags ?? '';
  if (!/^[imsu]*$/.test(flags))
    throw new PiiConfigError(`${where}: flags may only contain i, m, s, u (got '${flags}')`);
  let re: RegExp;
  try {
    re = new RegExp(p.pattern, `${flags}g`);
  } catch (err) {
    throw new PiiConfigError(`${where}: invalid regular expression: ${(err as Error).message}`);
  }
  if (!isSafePattern(re)) {
    throw new PiiConfigError(
      `${where}: pattern may backtrack catastrophically (a quantifier inside a repeated group, or more than 25 ` +
        `repetitions); rewrite it without nested quantifiers, e.g. '(\\d{3}-)+' -> '[\\d-]{4,40}'`,
    );
  }
  if (new RegExp(p.pattern, flags).test('')) throw new PiiConfigError(`${where}: pattern matches the empty string`);
  const context = p.context?.length
    ? new RegExp(p.context.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i')
    : undefined;
  return {
    kind: p.name,
    patterns: [re],
    scan(text, ctx, out) {
      for (const m of execAll(re, text)) {
        if (m[0].length === 0) continue;
        const start = m.index;
        const end = start + m[0].length;
        if (context && !nearContext(text, start, end, context, ctx.hint)) continue;
        out.push({ kind: p.name, label: p.name, start, end, confidence: 0.9, canonical: m[0] });
      }
    },
  };
}

function resolveKinds(kinds: readonly string[] | undefined): string[] {
  const known = BUILTIN_PII_KINDS as readonly string[];
  const out: string[] = [];
  for (const k of kinds ?? known) {
    const kind = KIND_ALIASES[k] ?? k;
    if (!known.includes(kind)) {
      throw new PiiConfigError(`unknown PII kind '${k}' (known: ${known.join(', ')}; custom patterns go under custom)`);
    }
    if (!out.includes(kind)) out.push(kind);
  }
  return out;
}

// Within each group of mutually overlapping candidates: highest confidence first, then longest; a candidate
// that overlaps an accepted one is dropped. Grouping by a sweep keeps this linear for many findings.
function resolveOverlaps(cands: Candidate[]): Candidate[] {
  if (cands.length < 2) return cands;
  const byStart = [...cands].sort((a, b) => a.start - b.start);
  const kept: Candidate[] = [];
  let group: Candidate[] = [];
  let groupEnd = -1;
  const flush = (): void => {
    if (group.length === 1) kept.push(group[0] as Candidate);
    else if (group.length > 1) {
      const ordered = group.sort((a, b) => b.confidence - a.confidence || b.end - b.start - (a.end - a.start));
      const accepted: Candidate[] = [];
      for (const c of ordered) if (!accepted.some((k) => c.start < k.end && k.start < c.end)) accepted.push(c);
      kept.push(...accepted);
    }
    group = [];
  };
  for (const c of byStart) {
    if (c.start >= groupEnd) flush();
    group.push(c);
    groupEnd = Math.max(groupEnd, c.end);
  }
  flush();
  return kept.sort((a, b) => a.start - b.start);
}

interface Located extends PiiFinding {
  canonical: string;
}

type JsonPathPart = string | number;

function pathToString(parts: readonly JsonPathPart[]): string {
  let s = '$';
  for (const p of parts) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (p === '<json>') s += '<json>';
    else if (p.startsWith('{') && p.endsWith('}')) s += p;
    else s += /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  }
  return s;
}

export function createPiiScanner(options: PiiScannerOptions = {}): PiiScanner {
  const builtinKinds = resolveKinds(options.kinds);
  const customs = (options.custom ?? []).map(customRecognizer);
  const recognizers: Recognizer[] = [...builtinKinds.map((k) => BUILTIN_RECOGNIZERS[k] as Recognizer), ...customs];
  const kinds: PiiKind[] = recognizers.map((r) => r.kind);
  const duplicate = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (duplicate) throw new PiiConfigError(`custom PII pattern '${duplicate}' is defined twice`);
  const action: PiiAction = options.action ?? 'redact';
  const style: RedactionStyle = options.style ?? 'mask';
  const minConfidence = options.minConfidence ?? 0.5;
  const scanKeys = options.scanKeys ?? true;
  const region = (options.defaultPhoneRegion ?? 'US').toUpperCase() as CountryCode;
  if (!['redact', 'block', 'alert'].includes(action)) {
    throw new PiiConfigError(`PII action must be redact, block or alert (got '${String(action)}')`);
  }
  if (!['mask', 'partial', 'hash'].includes(style)) {
    throw new PiiConfigError(`PII redaction style must be mask, partial or hash (got '${String(style)}')`);
  }
  let hashKey: Buffer | undefined;
  if (style === 'hash') {
    hashKey = options.hashKey === undefined ? undefined : Buffer.from(options.hashKey);
    if (!hashKey || hashKey.length < 16) {
      throw new PiiConfigError(
        'PII redaction style hash needs hashKey of at least 16 bytes (keep it secret and stable)',
      );
    }
  }
  const secretEnabled = builtinKinds.includes('secret');
  const needClusters = builtinKinds.some((k) => NUMBER_KINDS.has(k));
  const hasCustom = customs.length > 0;

  // The hint is the JSON key of the value: a small vocabulary, so its lower-case form and whether it names a secret
  // are remembered instead of recomputed (two regex tests) for every string under it.
  const hintMemo = new Map<string, { lower: string; secretKey: boolean }>();
  function hintInfo(hint: string): { lower: string; secretKey: boolean } {
    let info = hintMemo.get(hint);
    if (info === undefined) {
      const lower = hint.toLowerCase();
      info = { lower, secretKey: lower !== '' && SECRET_KEY_RE.test(lower) && !NOT_SECRET_KEY_RE.test(lower) };
      if (hint.length <= MAX_MEMO_KEY) {
        if (hintMemo.size >= KEY_MEMO_LIMIT) hintMemo.clear();
        hintMemo.set(hint, info);
      }
    }
    return info;
  }

  function locate(text: string, hint: string): Located[] {
    const out: Candidate[] = [];
    const { lower: trimmedHint, secretKey } = hintInfo(hint);
    if (secretEnabled && secretKey) {
      // The key says it is a secret ("password", "api_key"): the whole value is, unless it is a placeholder.
      const value = text.trim();
      if (secretValueOk(value, false, true)) {
        const start = text.indexOf(value);
        return [
          {
            kind: 'secret',
            label: 'secret_by_key',
            start,
            end: start + value.length,
            confidence: 0.85,
            canonical: value,
          },
        ];
      }
    }
    if (text.length < MIN_TEXT && !hasCustom) return [];
    const normalized = normalizeText(text);
    const ctx: ScanContext = {
      hint: trimmedHint,
      region,
      clusters: needClusters ? digitClusters(normalized.text) : [],
    };
    for (const r of recognizers) r.scan(normalized.text, ctx, out);
    if (out.length === 0) return [];
    const located: Located[] = [];
    for (const c of resolveOverlaps(out)) {
      if (c.confidence < minConfidence) continue;
      const [start, end] = toOriginalRange(normalized, c.start, c.end);
      located.push({
        kind: c.kind,
        label: c.label,
        start,
        end,
        confidence: Math.min(1, c.confidence),
        canonical: c.canonical,
      });
    }
    return located;
  }

  function replacement(original: string, f: Located): string {
    if (style === 'hash' && hashKey) {
      const mac = createHmac('sha256', hashKey).update(`${f.kind}:${f.canonical}`).digest('hex').slice(0, 12);
      return `[REDACTED:${f.kind}:hmac-${mac}]`;
    }
    if (style === 'partial') {
      if (PARTIAL_KINDS.has(f.kind)) {
        let keep = 4;
        let s = '';
        for (let i = original.length - 1; i >= 0; i--) {
          const ch = original[i] as string;
          if (/[A-Za-z0-9]/.test(ch) || /\p{Nd}/u.test(ch)) {
            s = (keep > 0 ? ch : '*') + s;
            keep--;
          } else s = ch + s;
        }
        return s;
      }
      if (f.kind === 'email') {
        const at = original.lastIndexOf('@');
        return `${original.slice(0, 1)}***${original.slice(at)}`;
      }
    }
    return options.mask === 'stars' ? '****' : `[REDACTED:${f.kind}]`;
  }

  function redactWith(text: string, found: readonly Located[]): string {
    let out = '';
    let last = 0;
    for (const f of found) {
      out += text.slice(last, f.start) + replacement(text.slice(f.start, f.end), f);
      last = f.end;
    }
    return out + text.slice(last);
  }

  const publicFinding = (f: Located, path?: string): PiiFinding => {
    const { canonical: _canonical, ...rest } = f;
    return path === undefined ? rest : { ...rest, path };
  };

  function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
    // Look at the first and last non-blank characters without copying the string.
    let i = 0;
    let j = text.length - 1;
    while (i <= j && text.charCodeAt(i) <= 32) i++;
    while (j >= i && text.charCodeAt(j) <= 32) j--;
    const first = text[i];
    const last = text[j];
    if (!((first === '{' && last === '}') || (first === '[' && last === ']'))) return { ok: false };
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      return { ok: false };
    }
  }

  // Keys come from a small vocabulary (every result repeats `content`, `text`, `type`...) and locate() is a pure
  // function of the text: memoise the key scans instead of running every recognizer on the same key per value.
  const keyMemo = new Map<string, Located[]>();
  function locateKey(key: string): Located[] {
    let found = keyMemo.get(key);
    if (found === undefined) {
      found = locate(key, '');
      if (key.length <= MAX_MEMO_KEY) {
        if (keyMemo.size >= KEY_MEMO_LIMIT) keyMemo.clear();
        keyMemo.set(key, found);
      }
    }
    return found;
  }

  /**
   * One walker for scanning and redacting: returns the (possibly) redacted value and appends findings (with their
   * JSON paths when `paths`; apply/redactJson only count kinds, so they skip building paths). Redaction is
   * copy-on-write: a container is copied only when something inside it changed, so a clean value comes back as is.
   */
  function walk(
    value: unknown,
    parts: JsonPathPart[],
    hint: string,
    nesting: number,
    findings: PiiFinding[],
    redact: boolean,
    paths: boolean,
  ): unknown {
    if (parts.length > MAX_DEPTH) {
      throw new PiiScanError(
        `value is nested deeper than ${MAX_DEPTH} levels at ${pathToString(parts.slice(0, 8))}...`,
      );
    }
    if (typeof value === 'string') {
      if (nesting < MAX_JSON_NESTING) {
        const parsed = tryJson(value);
        if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null) {
          const before = findings.length;
          parts.push('<json>');
          const inner = walk(parsed.value, parts, hint, nesting + 1, findings, redact, paths);
          parts.pop();
          if (!redact || findings.length === before) return value;
          return JSON.stringify(inner, null, value.includes('\n') ? 2 : undefined);
        }
      }
      const found = locate(value, hint);
      if (found.length === 0) return value;
      record(found, parts, findings, paths);
      return redact ? redactWith(value, found) : value;
    }
    if (typeof value === 'number' || typeof value === 'bigint') {
      // Identifiers stored as JSON numbers (a card number, an SSN under key "ssn").
      if (typeof value === 'number' && (!Number.isInteger(value) || Math.abs(value) < 1_000_000)) return value;
      const text = String(value);
      const found = locate(text, hint);
      if (found.length === 0) return value;
      record(found, parts, findings, paths);
      return redact ? redactWith(text, found) : value;
    }
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const child: unknown = value[i];
        parts.push(i);
        const r = walk(child, parts, hint, nesting, findings, redact, paths);
        parts.pop();
        if (out) out[i] = r;
        else if (redact && r !== child) {
          out = value.slice(0, value.length);
          out[i] = r;
        }
      }
      return out ?? value;
    }
    if (typeof value === 'object' && value !== null) {
      let out: Record<string, unknown> | undefined;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const child = obj[key];
        let outKey = key;
        let pathKey = key;
        if (scanKeys && key.length >= MIN_TEXT) {
          const found = locateKey(key);
          if (found.length > 0) {
            // Paths are logged: never put the PII key itself into one.
            pathKey = found.reduce((k, f) => k.replace(key.slice(f.start, f.end), `[REDACTED:${f.kind}]`), key);
            if (paths) for (const f of found) findings.push(publicFinding(f, pathToString([...parts, `{${pathKey}}`])));
            else for (const f of found) findings.push(f);
            outKey = redactWith(key, found);
          }
        }
        parts.push(pathKey);
        const r = walk(child, parts, key, nesting, findings, redact, paths);
        parts.pop();
        if (!redact) continue;
        if (!out) {
          if (r === child && outKey === key) continue;
          // The first change: copy the keys before it, in order.
          out = {};
          for (let j = 0; j < i; j++) out[keys[j] as string] = obj[keys[j] as string];
        }
        if (outKey !== key) {
          let n = 2;
          const base = outKey;
          while (Object.hasOwn(out, outKey)) outKey = `${base}~${n++}`;
        }
        out[outKey] = r;
      }
      return out ?? value;
    }
    return value;
  }

  function record(
    found: readonly Located[],
    parts: readonly JsonPathPart[],
    findings: PiiFinding[],
    paths: boolean,
  ): void {
    if (!paths) {
      for (const f of found) findings.push(f);
      return;
    }
    const path = pathToString(parts);
    for (const f of found) findings.push(publicFinding(f, path));
  }

  const scanner: PiiScanner = {
    kinds,
    scanText(text, context = '') {
      return locate(text, context).map((f) => publicFinding(f));
    },
    scanJson(value) {
      const findings: PiiFinding[] = [];
      walk(value, [], '', 0, findings, false, true);
      return { findings, summary: summarize(findings) };
    },
    redactText(text, context = '') {
      const found = locate(text, context);
      return { text: found.length ? redactWith(text, found) : text, summary: summarize(found) };
    },
    redactJson(value) {
      // Findings stay internal here (only the kinds are counted), so no JSON paths are built.
      const findings: PiiFinding[] = [];
      const out = walk(value, [], '', 0, findings, true, false);
      return { value: out, summary: summarize(findings) };
    },
    apply(value) {
      if (action === 'redact') {
        const r = scanner.redactJson(value);
        return { action, blocked: false, value: r.value, summary: r.summary };
      }
      const findings: PiiFinding[] = [];
      walk(value, [], '', 0, findings, false, false);
      const summary = summarize(findings);
      return { action, blocked: action === 'block' && summary.found, value, summary };
    },
  };
  return scanner;
}
