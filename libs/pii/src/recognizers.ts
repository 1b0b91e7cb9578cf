// Built-in recognizers. Every pattern has star height 1 (no quantifier inside a quantified group) and bounded
// repetitions, so matching is linear in the input; structure the regex cannot express is checked in code.
import { isIPv6 } from 'node:net';
import { createRequire } from 'node:module';
import { parsePhoneNumberFromString, type CountryCode, type MetadataJson } from 'libphonenumber-js/core';
import { cardBrand, ibanValid, ipv4Valid, luhnValid, ssnValid } from './validators.js';

/** A hit in the canonical (normalised) text. `canonical` is the value in a form where equal values compare equal. */
export interface Candidate {
  kind: string;
  label: string;
  start: number;
  end: number;
  confidence: number;
  canonical: string;
}

export interface ScanContext {
  /** Lower-cased JSON key (or other caller-supplied hint) that labels the whole string. */
  hint: string;
  region: CountryCode;
  /** Digit clusters [start, end, start, end, ...]: the only places a number-shaped kind can match. */
  clusters: readonly number[];
}

export interface Recognizer {
  readonly kind: string;
  /** The regular expressions used, exposed for the backtracking-safety test. */
  readonly patterns: readonly RegExp[];
  scan(text: string, ctx: ScanContext, out: Candidate[]): void;
}

const NO_MATCHES: readonly RegExpExecArray[] = [];

/**
 * Matches of a global regex. Unlike String#matchAll this does not clone the regex per call, which dominates
 * the cost on the many short strings of a JSON document.
 */
export function execAll(re: RegExp, text: string): readonly RegExpExecArray[] {
  re.lastIndex = 0;
  let m = re.exec(text);
  if (m === null) return NO_MATCHES; // the common case allocates nothing
  const out: RegExpExecArray[] = [];
  while (m !== null) {
    out.push(m);
    if (m[0].length === 0) re.lastIndex++;
    m = re.exec(text);
  }
  return out;
}

// Every SSN, card, phone and IPv4 lies inside a run of digits and separators of at least six characters. One
// pass finds these runs; the number recognizers then run only on them (plus a little context either side for
// their look-arounds) instead of each scanning the whole text.
const CLUSTER_RE = /\d[\d ().+-]{5,}/g;
const CLUSTER_MARGIN_BEFORE = 3;
const CLUSTER_MARGIN_AFTER = 2;

export function digitClusters(text: string): number[] {
  const out: number[] = [];
  for (const m of execAll(CLUSTER_RE, text)) out.push(m.index, m.index + m[0].length);
  return out;
}

/** Matches of `re` within the clusters, with `index` relative to the whole text. */
export function clusterMatches(re: RegExp, text: string, clusters: readonly number[]): readonly RegExpExecArray[] {
  if (clusters.length === 0) return NO_MATCHES;
  const out: RegExpExecArray[] = [];
  for (let i = 0; i < clusters.length; i += 2) {
    const from = Math.max(0, (clusters[i] as number) - CLUSTER_MARGIN_BEFORE);
    const to = (clusters[i + 1] as number) + CLUSTER_MARGIN_AFTER;
    for (const m of execAll(re, text.slice(from, to))) {
      m.index += from;
      out.push(m);
    }
  }
  return out;
}

// The full ("max") metadata makes isValid() check number ranges, not only lengths. Loaded with require so
// no JSON module import is needed (Jest and Node treat those differently).
const PHONE_METADATA = createRequire(import.meta.url)('libphonenumber-js/metadata.max.json') as MetadataJson;

interface ParsedPhone {
  country?: string;
  number: string;
  countryCallingCode: string;
  national: string;
}
// Parsing dominates the cost of a phone candidate and tool output repeats numbers (logs, listings): memoise.
const phoneMemo = new Map<string, ParsedPhone | null>();
const PHONE_MEMO_LIMIT = 4096;

function parsePhone(raw: string, region: CountryCode | undefined): ParsedPhone | undefined {
  const key = `${region ?? '+'}|${raw}`;
  const memo = phoneMemo.get(key);
  if (memo !== undefined) return memo ?? undefined;
  const p = region
    ? parsePhoneNumberFromString(raw, region, PHONE_METADATA)
    : parsePhoneNumberFromString(raw, PHONE_METADATA);
  const result =
    p && p.isValid()
      ? { country: p.country, number: p.number, countryCallingCode: p.countryCallingCode, national: p.formatNational() }
      : null;
  if (phoneMemo.size >= PHONE_MEMO_LIMIT) phoneMemo.clear();
  phoneMemo.set(key, result);
  return result ?? undefined;
}

const BEFORE = 40;
const AFTER = 24;

/** Context words near [start, end) or in the key. */
export function nearContext(text: string, start: number, end: number, words: RegExp, hint: string): boolean {
  if (hint && words.test(hint)) return true;
  return words.test(text.slice(Math.max(0, start - BEFORE), start)) || words.test(text.slice(end, end + AFTER));
}

function before(text: string, start: number): string {
  return text.slice(Math.max(0, start - BEFORE), start);
}

const digitsOf = (s: string): string => s.replace(/\D/g, '');

interface Token {
  start: number;
  end: number;
}

// Separator-delimited groups of a candidate, used to find the valid part of an over-long digit run
// ("4111 1111 1111 1111 12 25" contains a card followed by an expiry date).
function tokens(text: string, start: number, end: number, sep: RegExp): Token[] {
  const out: Token[] = [];
  let i = start;
  while (i < end) {
    while (i < end && sep.test(text[i] as string)) i++;
    const s = i;
    while (i < end && !sep.test(text[i] as string)) i++;
    if (i > s) out.push({ start: s, end: i });
  }
  return out;
}

/**
 * Longest window of consecutive tokens (earliest first on ties) that `accept` takes. Windows whose token
 * characters fall outside [minChars, maxChars] are skipped without calling `accept`.
 */
function bestWindow(
  toks: readonly Token[],
  maxTokens: number,
  minChars: number,
  maxChars: number,
  accept: (start: number, end: number) => Candidate | undefined,
): Candidate | undefined {
  const prefix = [0];
  for (const t of toks) prefix.push((prefix[prefix.length - 1] as number) + t.end - t.start);
  for (let size = Math.min(maxTokens, toks.length); size >= 1; size--) {
    for (let i = 0; i + size <= toks.length; i++) {
      const chars = (prefix[i + size] as number) - (prefix[i] as number);
      if (chars < minChars || chars > maxChars) continue;
      const first = toks[i] as Token;
      const last = toks[i + size - 1] as Token;
      const hit = accept(first.start, last.end);
      if (hit) return hit;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- ssn
const SSN_RE = /(?<![\w-])(\d{3})([- .]?)(\d{2})\2(\d{4})(?![\w-]|\.\d)/g;
const SSN_CONTEXT = /ssn|ss#|social[\s_-]?sec|soc\.?\s?sec|tax[\s_-]?id|\btin\b|\bitin\b|taxpayer|sozialversicherung/i;

const ssn: Recognizer = {
  kind: 'ssn',
  patterns: [SSN_RE],
  scan(text, ctx, out) {
    for (const m of clusterMatches(SSN_RE, text, ctx.clusters)) {
      const [whole, area = '', sep = '', group = '', serial = ''] = m;
      if (!ssnValid(area, group, serial)) continue;
      const start = m.index;
      const end = start + whole.length;
      let confidence = sep === '-' ? 0.6 : 0.3;
      if (nearContext(text, start, end, SSN_CONTEXT, ctx.hint)) confidence += 0.5;
      out.push({ kind: 'ssn', label: 'us_ssn', start, end, confidence, canonical: area + group + serial });
    }
  },
};

// ---------------------------------------------------------------- credit card
const CARD_RE = /(?<![\w.-])\d[\d -]{11,36}\d(?![\w-]|\.\d)/g;
const CARD_CONTEXT =
  /card|credit|debit|visa|master\s?card|amex|american express|discover|\bcc\b|\bccn\b|\bpan\b|payment|\bjcb\b|maestro/i;
const CARD_SEP = /[ -]/;

// Printed card layouts: 4-4-4-4(-3), 4-6-5 (Amex), 4-6-4 (Diners), 4-4-4-1..4 (Visa 13).
function regularCardGroups(sizes: readonly number[]): boolean {
  const shape = sizes.join('-');
  return /^4-4-4-4(?:-[1-3])?$/.test(shape) || shape === '4-6-5' || shape === '4-6-4' || /^4-4-4-[1-4]$/.test(shape);
}

function cardCandidate(text: string, start: number, end: number, ctx: ScanContext): Candidate | undefined {
  const raw = text.slice(start, end);
  const digits = digitsOf(raw);
  if (digits.length < 13 || digits.length > 19 || /[ -]{2}/.test(raw)) return undefined;
  if (!luhnValid(digits)) return undefined; // cheapest test first: most windows fail here
  const brand = cardBrand(digits);
  if (!brand) return undefined;
  const seps = raw.replace(/\d/g, '');
  const groups = raw.split(/[ -]/).map((g) => g.length);
  let confidence: number;
  if (seps.length === 0) confidence = 0.8;
  else if (new Set(seps).size === 1 && regularCardGroups(groups)) confidence = 0.9;
  else confidence = 0.35; // odd grouping ("4 1 1 1 ..."): an evasion or a coincidence; context decides
  if (nearContext(text, start, end, CARD_CONTEXT, ctx.hint)) confidence += 0.5;
  return { kind: 'credit_card', label: brand, start, end, confidence, canonical: digits };
}

const creditCard: Recognizer = {
  kind: 'credit_card',
  patterns: [CARD_RE],
  scan(text, ctx, out) {
    for (const m of clusterMatches(CARD_RE, text, ctx.clusters)) {
      const start = m.index;
      const end = start + m[0].length;
      const whole = cardCandidate(text, start, end, ctx);
      // Sub-windows matter for a printed card followed by more digits (expiry, CVV) or an evasive layout next
      // to context words; a run with neither cannot yield a confident card, so skip the search.
      const toks = whole ? [] : tokens(text, start, end, CARD_SEP);
      const worthSearching =
        !whole &&
        (toks.filter((t) => t.end - t.start >= 4).length >= 3 || nearContext(text, start, end, CARD_CONTEXT, ctx.hint));
      const hit =
        whole ?? (worthSearching ? bestWindow(toks, 19, 13, 19, (s, e) => cardCandidate(text, s, e, ctx)) : undefined);
      if (hit) out.push(hit);
    }
  },
};

// ---------------------------------------------------------------- phone
const PHONE_RE = /(?<![\w.+/-])\+?\(?\d[\d ().-]{5,22}\d(?![\w/-]|\.\d)/g;
const PHONE_CONTEXT =
  /phone|\btel\b|telephone|mobile|\bcell|\bcall|\bfax\b|\bsms\b|whatsapp|contact|\bdial|\bph\b|\bmob\b|reach me|text me/i;
const NOT_PHONE_CONTEXT =
  /(?:\b(?:order|invoice|ref|reference|tracking|ticket|sku|isbn|serial|version|build|account|acct|id|no)\.?|#)\s*[:#]?\s*$/i;
const PHONE_SEP = /[ .-]/;
const DATE_LIKE = /^(?:\d{4}[-. ]\d{1,2}[-. ]\d{1,2}|\d{1,2}[-. ]\d{1,2}[-. ]\d{4})(?:$|[ T])/;

function phoneCandidate(text: string, start: number, end: number, ctx: ScanContext): Candidate | undefined {
  let raw = text.slice(start, end);
  // A closing parenthesis belongs to the number only when it closes an area code.
  if (raw.endsWith(')') && !raw.includes('(')) raw = raw.slice(0, -1);
  const digits = digitsOf(raw);
  if (digits.length < 7 || digits.length > 15) return undefined;
  if (/[ .-]{2}|\(\D|\D\)|[.](?=.*-)|-(?=.*[.])/.test(raw)) return undefined;
  const opens = raw.split('(').length - 1;
  if (opens !== raw.split(')').length - 1 || opens > 1) return undefined;
  const international = raw.startsWith('+');
  if (!international && DATE_LIKE.test(raw)) return undefined;
  const context = nearContext(text, start, end, PHONE_CONTEXT, ctx.hint);
  // Without context a national number must be written in groups of two or more digits; anything else cannot
  // reach the threshold, so skip the (comparatively costly) libphonenumber parse.
  if (!international && !context) {
    const groups = raw.split(/[ .()-]+/).filter(Boolean);
    if (groups.length < 2 || groups.slice(1).some((g) => g.length < 2)) return undefined;
  }
  const parsed = parsePhone(raw, international ? undefined : ctx.region);
  if (!parsed) return undefined;
  let formatted = /[ ().-]/.test(raw);
  if (formatted && !international) {
    // National numbers are written in the country's grouping ("(202) 405-1234"); "2024-05-1234" is an id.
    const groups = raw.split(/\D+/).filter(Boolean);
    const national = parsed.national.split(/\D+/).filter(Boolean);
    const own =
      groups[0] === parsed.countryCallingCode && groups.length === national.length + 1 ? groups.slice(1) : groups;
    formatted = own.join(',') === national.join(',');
  }
  let confidence = international ? 0.8 : formatted ? 0.6 : 0.3;
  if (context) confidence += 0.4;
  if (NOT_PHONE_CONTEXT.test(before(text, start))) confidence -= 0.4;
  return {
    kind: 'phone',
    label: parsed.country ? `phone_${parsed.country.toLowerCase()}` : 'phone',
    start,
    end: start + raw.length,
    confidence,
    canonical: parsed.number,
  };
}

const phone: Recognizer = {
  kind: 'phone',
  patterns: [PHONE_RE],
  scan(text, ctx, out) {
    for (let c = 0; c < ctx.clusters.length; c += 2) {
      const from = Math.max(0, (ctx.clusters[c] as number) - CLUSTER_MARGIN_BEFORE);
      const slice = text.slice(from, (ctx.clusters[c + 1] as number) + CLUSTER_MARGIN_AFTER);
      PHONE_RE.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = PHONE_RE.exec(slice)) !== null) {
        const start = from + m.index;
        const end = start + m[0].length;
        const whole = phoneCandidate(text, start, end, ctx);
        const hit =
          whole ?? bestWindow(tokens(text, start, end, PHONE_SEP), 6, 7, 17, (s, e) => phoneCandidate(text, s, e, ctx));
        if (hit) {
          out.push(hit);
          // Resume right after the accepted number: the rest of the run may hold another one.
          PHONE_RE.lastIndex = hit.end - from;
        }
      }
    }
  },
};

// ---------------------------------------------------------------- email
const LOCAL_CHAR = /[A-Za-z0-9._%+'-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;
const EMAIL_RE = /@/g;
// "icon@2x.png", "logo@3x.webp": asset names, not addresses.
const FILE_TLDS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'ico',
  'bmp',
  'css',
  'js',
  'mjs',
  'cjs',
  'ts',
  'tsx',
  'jsx',
  'json',
  'lock',
  'yaml',
  'yml',
  'map',
  'txt',
  'log',
  'html',
  'xml',
  'zip',
  'gz',
  'tgz',
  'pdf',
]);

const email: Recognizer = {
  kind: 'email',
  patterns: [EMAIL_RE],
  scan(text, _ctx, out) {
    let at = text.indexOf('@');
    while (at !== -1) {
      let s = at;
      while (s > 0 && at - s < 64 && LOCAL_CHAR.test(text[s - 1] as string)) s--;
      while (s < at && text[s] === '.') s++;
      let e = at + 1;
      while (e < text.length && e - at <= 253 && DOMAIN_CHAR.test(text[e] as string)) e++;
      while (e > at + 1 && (text[e - 1] === '.' || text[e - 1] === '-')) e--;
      const local = text.slice(s, at);
      const domain = text.slice(at + 1, e);
      const labels = domain.split('.');
      const tld = labels[labels.length - 1] ?? '';
      if (
        local.length > 0 &&
        // git@github.com:org/repo.git is an SSH remote, not a person's address
        !(local === 'git' && text[e] === ':') &&
        !local.endsWith('.') &&
        !local.includes('..') &&
        labels.length >= 2 &&
        labels.every((l) => l.length > 0 && l.length <= 63 && !l.startsWith('-') && !l.endsWith('-')) &&
        /^[A-Za-z]{2,24}$/.test(tld) &&
        !FILE_TLDS.has(tld.toLowerCase())
      ) {
        out.push({
          kind: 'email',
          label: 'email',
          start: s,
          end: e,
          confidence: 0.9,
          canonical: `${local}@${domain.toLowerCase()}`,
        });
      }
      at = text.indexOf('@', Math.max(at + 1, e));
    }
  },
};

// ---------------------------------------------------------------- iban
const IBAN_RE = /\b[A-Z]{2}\d{2}[A-Z0-9 ]{10,46}[A-Z0-9]\b/g;
const ibanRecognizer: Recognizer = {
  kind: 'iban',
  patterns: [IBAN_RE],
  scan(text, _ctx, out) {
    for (const m of execAll(IBAN_RE, text)) {
      const start = m.index;
      const raw = m[0];
      // Grow group by group from the country code until the compact form is a valid IBAN.
      let compact = '';
      let i = 0;
      while (i < raw.length && compact.length < 34) {
        if (raw[i] === ' ') {
          if (raw[i + 1] === ' ') break;
          i++;
          continue;
        }
        compact += raw[i];
        i++;
        const atGroupEnd = i === raw.length || raw[i] === ' ';
        if (atGroupEnd && compact.length >= 15 && ibanValid(compact)) {
          out.push({
            kind: 'iban',
            label: `iban_${compact.slice(0, 2).toLowerCase()}`,
            start,
            end: start + i,
            confidence: 0.9,
            canonical: compact,
          });
          break;
        }
      }
    }
  },
};

// ---------------------------------------------------------------- ip addresses
const IPV4_RE = /(?<![\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\d)/g;
const IPV6_RE = /(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{2,45}(?![\w:])/g;
// Cheap gate: an IPv6 address has two colons at most four hex digits apart (a literal-led, fast regex).
const IPV6_HINT = /:[0-9A-Fa-f]{0,4}:/;
// A JSON key such as "version" or "build" labels a dotted quad as a version.
const VERSION_KEY = /version|^ver$|release|build|firmware|oid/;
const VERSION_CONTEXT =
  /(?:version|\bver|release|build|firmware|\bv|oid|section|chapter|clause|step|rule|figure|table|item|§)\s*[:=]?\s*$/i;

const ipAddress: Recognizer = {
  kind: 'ip_address',
  patterns: [IPV4_RE, IPV6_RE, IPV6_HINT, CLUSTER_RE],
  scan(text, ctx, out) {
    for (const m of clusterMatches(IPV4_RE, text, ctx.clusters)) {
      const raw = m[0];
      if (!ipv4Valid(raw)) continue;
      const first = Number(raw.slice(0, raw.indexOf('.')));
      // Unspecified, loopback and netmask-looking values identify nobody.
      if (first === 0 || first === 127 || first === 255) continue;
      if (VERSION_CONTEXT.test(before(text, m.index)) || VERSION_KEY.test(ctx.hint)) continue;
      out.push({
        kind: 'ip_address',
        label: 'ipv4',
        start: m.index,
        end: m.index + raw.length,
        confidence: 0.8,
        canonical: raw,
      });
    }
    if (!IPV6_HINT.test(text)) return;
    for (const m of execAll(IPV6_RE, text)) {
      let raw = m[0];
      while (raw.endsWith('.')) raw = raw.slice(0, -1);
      if (raw.split(':').length < 3 || !isIPv6(raw)) continue;
      const lower = raw.toLowerCase();
      if (lower === '::' || lower === '::1') continue;
      out.push({
        kind: 'ip_address',
        label: 'ipv6',
        start: m.index,
        end: m.index + raw.length,
        confidence: 0.8,
        canonical: lower,
      });
    }
  },
};

// ---------------------------------------------------------------- secrets
const TOKEN_RE = new RegExp(
  [
    '\\b(?:',
    '(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|AKPA|ANPA|ANVA|APKA|AROA)[A-Z2-7]{16}',
    '|gh[pousr]_[A-Za-z0-9]{36,251}',
    '|github_pat_[A-Za-z0-9_]{22,251}',
    '|xox[abeoprs]-[A-Za-z0-9-]{10,250}',
    '|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}',
    '|whsec_[A-Za-z0-9+/=]{24,88}',
    '|AIza[0-9A-Za-z_-]{35}',
    '|glpat-[A-Za-z0-9_-]{20,64}',
    '|npm_[A-Za-z0-9]{36}',
    '|eyJ[A-Za-z0-9_-]{8,4096}\\.eyJ[A-Za-z0-9_-]{4,16384}\\.[A-Za-z0-9_-]{16,4096}',
    '|https://hooks\\.slack\\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{16,32}',
    ')(?![\\w-])',
  ].join(''),
  'g',
);
const TOKEN_LABELS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^A[A-Z]{3}[A-Z2-7]{16}$/, 'aws_access_key_id'],
  [/^gh[pousr]_|^github_pat_/, 'github_token'],
  [/^xox/, 'slack_token'],
  [/^https:\/\/hooks\.slack/, 'slack_webhook'],
  [/^(?:sk|rk)_|^whsec_/, 'stripe_key'],
  [/^AIza/, 'google_api_key'],
  [/^glpat-/, 'gitlab_token'],
  [/^npm_/, 'npm_token'],
  [/^eyJ/, 'jwt'],
];
const PEM_BEGIN_RE = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END_RE = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
const SECRET_NAME =
  '(?:aws_secret_access_key|aws_secret_key|secret_access_key|secretaccesskey|password|passwd|passphrase|pwd|secret|client_secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|secret[_-]?key|session[_-]?token|token)';
const ASSIGNMENT_RE = new RegExp(`(?<![A-Za-z0-9])${SECRET_NAME}(?![A-Za-z0-9])["']?\\s{0,3}(:=|:|=)\\s{0,3}`, 'gi');
const BEARER_RE = /\b[Bb]earer\s{1,3}([A-Za-z0-9._~+/-]{16,4096}={0,2})(?![\w-])/g;
/** JSON keys whose whole string value is a secret. */
/** Keys named like tokens that are not credentials (pagination, progress). */
export const NOT_SECRET_KEY_RE = /(?:next|page|continuation|pagination|cursor|progress|sync)[_-]?token/i;
export const SECRET_KEY_RE =
  /^(?:[\w-]{0,40}[_-])?(?:password|passwd|passphrase|pwd|secret|client_secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|secret[_-]?key|session[_-]?token|token|authorization|credentials?)$/i;
const PLACEHOLDER =
  /^(?:\*+|x+|\.+|-+|<[^>]{0,80}>|\$\{[^}]{0,80}\}|\{\{[^}]{0,80}\}\}|%\([^)]{0,40}\)s|\$[A-Z_][A-Z0-9_]{0,80}|null|none|nil|undefined|true|false|redacted|\[redacted[^\]]{0,40}\]|changeme|example|string|password|secret|required|optional|your[_-][\w-]{0,40}|\{|\[)$/i;

function jwtHeaderOk(token: string): boolean {
  const header = token.slice(0, token.indexOf('.'));
  try {
    const decoded: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof decoded === 'object' && decoded !== null && ('alg' in decoded || 'typ' in decoded);
  } catch {
    return false;
  }
}

/** End of an unquoted or quoted assignment value starting at `i`. */
function assignmentValue(text: string, i: number): Token | undefined {
  const q = text[i];
  if (q === '"' || q === "'") {
    const close = text.indexOf(q, i + 1);
    if (close === -1 || close - i - 1 > 512) return undefined;
    return { start: i + 1, end: close };
  }
  let e = i;
  while (e < text.length && e - i < 512 && !/[\s"'&,;<>)}\]]/.test(text[e] as string)) e++;
  return { start: i, end: e };
}

/** Whether a value assigned to a secret-looking name is plausibly a real secret (not a placeholder or prose). */
export function secretValueOk(value: string, viaColon: boolean, quoted: boolean): boolean {
  if (value.length < 4 || PLACEHOLDER.test(value) || value.includes('(')) return false;
  // Template references: ${API_KEY}, {{ secret }}, %(pw)s, <your-key>
  if (/^(?:\$\{|\{\{|%\(|<)/.test(value)) return false;
  // "password: reset it from the settings page" is prose; real secrets have digits, symbols or mixed case.
  if (viaColon && !quoted && /^[a-z]+$/.test(value)) return false;
  return true;
}

const secret: Recognizer = {
  kind: 'secret',
  patterns: [TOKEN_RE, PEM_BEGIN_RE, PEM_END_RE, ASSIGNMENT_RE, BEARER_RE],
  scan(text, _ctx, out) {
    const push = (label: string, start: number, end: number, confidence = 0.9): void => {
      out.push({ kind: 'secret', label, start, end, confidence, canonical: text.slice(start, end) });
    };
    for (const m of execAll(TOKEN_RE, text)) {
      const raw = m[0];
      const label = TOKEN_LABELS.find(([re]) => re.test(raw))?.[1] ?? 'token';
      if (label === 'jwt' && !jwtHeaderOk(raw)) continue;
      push(label, m.index, m.index + raw.length);
    }
    if (text.includes('-----BEGIN')) {
      PEM_BEGIN_RE.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = PEM_BEGIN_RE.exec(text)) !== null) {
        PEM_END_RE.lastIndex = m.index + m[0].length;
        const endMatch = PEM_END_RE.exec(text);
        // No END line (truncated output): everything after BEGIN is still key material.
        const end = endMatch ? endMatch.index + endMatch[0].length : text.length;
        push('private_key', m.index, end, 0.95);
        PEM_BEGIN_RE.lastIndex = end; // resume after this block: keeps the scan linear
      }
    }
    for (const m of execAll(ASSIGNMENT_RE, text)) {
      const v = assignmentValue(text, m.index + m[0].length);
      if (!v) continue;
      const value = text.slice(v.start, v.end);
      const quoted = v.start > m.index + m[0].length;
      if (!secretValueOk(value, m[1] === ':', quoted)) continue;
      push(/^(?:aws|secret_?access)/i.test(m[0]) ? 'aws_secret_access_key' : 'assigned_secret', v.start, v.end, 0.8);
    }
    for (const m of execAll(BEARER_RE, text)) {
      const value = m[1] ?? '';
      const start = m.index + m[0].length - value.length;
      push('bearer_token', start, start + value.length, 0.85);
    }
  },
};

export const BUILTIN_RECOGNIZERS: Readonly<Record<string, Recognizer>> = {
  ssn,
  credit_card: creditCard,
  email,
  phone,
  iban: ibanRecognizer,
  ip_address: ipAddress,
  secret,
};
