// Checksum and structure validators: they turn a pattern hit into a finding only when the value could be real.

/** Luhn (mod 10) checksum over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

interface CardBrand {
  readonly name: string;
  readonly lengths: readonly number[];
  readonly matches: (digits: string) => boolean;
}

const inRange = (digits: string, len: number, lo: number, hi: number): boolean => {
  const p = Number(digits.slice(0, len));
  return p >= lo && p <= hi;
};

// Issuer prefixes (IIN ranges) and the lengths each network issues.
const CARD_BRANDS: readonly CardBrand[] = [
  { name: 'visa', lengths: [13, 16, 19], matches: (d) => d.startsWith('4') },
  { name: 'mastercard', lengths: [16], matches: (d) => inRange(d, 2, 51, 55) || inRange(d, 4, 2221, 2720) },
  { name: 'amex', lengths: [15], matches: (d) => d.startsWith('34') || d.startsWith('37') },
  {
    name: 'discover',
    lengths: [16, 17, 18, 19],
    matches: (d) =>
      d.startsWith('6011') || d.startsWith('65') || inRange(d, 3, 644, 649) || inRange(d, 6, 622126, 622925),
  },
  { name: 'diners', lengths: [14, 15, 16, 17, 18, 19], matches: (d) => inRange(d, 3, 300, 305) || /^3[689]/.test(d) },
  { name: 'jcb', lengths: [16, 17, 18, 19], matches: (d) => inRange(d, 4, 3528, 3589) },
  { name: 'unionpay', lengths: [16, 17, 18, 19], matches: (d) => d.startsWith('62') },
  { name: 'maestro', lengths: [13, 14, 15, 16, 17, 18, 19], matches: (d) => /^(?:50|5[6-8]|6[0-9])/.test(d) },
];

/** The card network whose prefix and length fit `digits`, or undefined. */
export function cardBrand(digits: string): string | undefined {
  return CARD_BRANDS.find((b) => b.lengths.includes(digits.length) && b.matches(digits))?.name;
}

/** US SSN structure: no 000/666/9xx area, no 00 group, no 0000 serial. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area.startsWith('9')) return false;
  if (group === '00' || serial === '0000') return false;
  return true;
}

// IBAN length per country (ISO 13616 registry).
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** IBAN check: known country, that country's length, mod-97 == 1. `iban` is upper-case without spaces. */
export function ibanValid(iban: string): boolean {
  const expected = IBAN_LENGTHS[iban.slice(0, 2)];
  if (expected === undefined || iban.length !== expected) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  // Piecewise mod-97 keeps the arithmetic inside safe integers.
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

/** Dotted-quad IPv4 with octets 0-255 and no leading zeros. */
export function ipv4Valid(candidate: string): boolean {
  const parts = candidate.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => p.length > 0 && p.length <= 3 && !(p.length > 1 && p.startsWith('0')) && Number(p) <= 255);
}
