// Normalisation against evasion: recognizers run on a canonical copy of the text (NFKC, ASCII digits,
// ASCII separators, no invisible characters) and every match is mapped back to the original offsets,
// so redaction replaces exactly the characters the user sent.

/** A canonical copy of a string plus, per canonical UTF-16 unit, the original range it came from. */
export interface NormalizedText {
  readonly text: string;
  /** Original start offset of canonical unit i; undefined when the text was already canonical (identity map). */
  readonly starts?: Int32Array;
  /** Original end offset (exclusive) of canonical unit i. */
  readonly ends?: Int32Array;
}

// Zero-width and other invisible format characters used to split numbers and keywords.
const FORMAT_CHAR = /\p{Cf}/u; // zero-width space/joiners, bidi marks, word joiner, BOM, soft hyphen...
// Invisible characters outside Cf: grapheme joiner, Hangul fillers, Khmer inherent vowels, variation selectors.
const isInvisible = (ch: string, cp: number): boolean =>
  FORMAT_CHAR.test(ch) ||
  cp === 0x034f ||
  cp === 0x115f ||
  cp === 0x1160 ||
  cp === 0x17b4 ||
  cp === 0x17b5 ||
  (cp >= 0x180b && cp <= 0x180f) ||
  cp === 0x3164 ||
  (cp >= 0xfe00 && cp <= 0xfe0f) ||
  cp === 0xffa0;
const DASH = /\p{Pd}|\u2212/u;
const SPACE = /[\p{Zs}\t]/u;
const DIGIT = /\p{Nd}/u;
const NON_ASCII = /[\u0080-\uFFFF]/;

const digitCache = new Map<number, string>();

// Unicode guarantees decimal digits (Nd) come in contiguous runs of ten starting at zero, so the value is
// the distance to the start of the run modulo ten (adjacent runs, e.g. mathematical digits, are multiples of ten).
function unicodeDigit(cp: number): string {
  const cached = digitCache.get(cp);
  if (cached !== undefined) return cached;
  let start = cp;
  while (start > 0 && cp - start < 100 && DIGIT.test(String.fromCodePoint(start - 1))) start--;
  const value = String((cp - start) % 10);
  digitCache.set(cp, value);
  return value;
}

const charCache = new Map<number, string>();
const CHAR_CACHE_LIMIT = 8192;
// Non-ASCII characters the recognizers care about even when NFKC leaves them alone.
// (Combining invisibles are listed as alternatives: inside a character class they would combine.)
const SPECIAL_NON_ASCII =
  /[\p{Nd}\p{Pd}\p{Zs}\p{Cf}\u2212\u115F\u1160\u3164\uFFA0]|\u17B4|\u17B5|\u034F|\u180B|\u180C|\u180D|\u180E|\u180F/u;

function canonicalCharCached(ch: string, cp: number): string {
  const hit = charCache.get(cp);
  if (hit !== undefined) return hit;
  const mapped = canonicalChar(ch, cp);
  if (charCache.size < CHAR_CACHE_LIMIT) charCache.set(cp, mapped);
  return mapped;
}

function canonicalChar(ch: string, cp: number): string {
  if (isInvisible(ch, cp)) return '';
  if (DIGIT.test(ch)) return unicodeDigit(cp);
  if (DASH.test(ch)) return '-';
  if (SPACE.test(ch)) return ' ';
  const nfkc = ch.normalize('NFKC');
  // Full-width ＠ and friends fold to ASCII under NFKC; keep other scripts as they are.
  return nfkc;
}

/** Canonicalise `input`; pure-ASCII input is returned as is with an identity offset map (the common, fast case). */
export function normalizeText(input: string): NormalizedText {
  if (!NON_ASCII.test(input)) return { text: input };
  // Most non-ASCII text (accents, CJK, emoji) is already canonical: two native passes prove it.
  if (!SPECIAL_NON_ASCII.test(input) && input.normalize('NFKC') === input) return { text: input };
  // Typed buffers sized for the common 1:1 case, grown if NFKC expands a character.
  let codes = new Uint16Array(input.length + 16);
  let starts = new Int32Array(input.length + 16);
  let ends = new Int32Array(input.length + 16);
  let n = 0;
  const emit = (unit: number, s: number, e: number): void => {
    if (n === codes.length) {
      const grow = <T extends Uint16Array | Int32Array>(a: T, make: (len: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      codes = grow(codes, (l) => new Uint16Array(l));
      starts = grow(starts, (l) => new Int32Array(l));
      ends = grow(ends, (l) => new Int32Array(l));
    }
    codes[n] = unit;
    starts[n] = s;
    ends[n] = e;
    n++;
  };
  let i = 0;
  while (i < input.length) {
    const unit = input.charCodeAt(i);
    if (unit < 0x80) {
      emit(unit, i, i + 1);
      i++;
      continue;
    }
    const cp = input.codePointAt(i) ?? unit;
    const width = cp > 0xffff ? 2 : 1;
    const mapped = canonicalCharCached(input.slice(i, i + width), cp);
    for (let k = 0; k < mapped.length; k++) emit(mapped.charCodeAt(k), i, i + width);
    i += width;
  }
  let text = '';
  for (let k = 0; k < n; k += 8192) text += String.fromCharCode(...codes.subarray(k, Math.min(n, k + 8192)));
  return { text, starts: starts.subarray(0, n), ends: ends.subarray(0, n) };
}

/** Map a canonical range [start, end) back to the original string. */
export function toOriginalRange(n: NormalizedText, start: number, end: number): [number, number] {
  if (!n.starts || !n.ends) return [start, end];
  const s = n.starts[start] ?? 0;
  const e = end > 0 ? (n.ends[end - 1] ?? s) : s;
  return [s, e];
}
