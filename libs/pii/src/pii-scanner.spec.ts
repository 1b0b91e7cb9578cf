import { describe, expect, it } from '@jest/globals';
import { createPiiScanner } from './pii-scanner.js';
import { PiiConfigError, PiiScanError } from './pii.types.js';

const scanner = createPiiScanner();
const kindsIn = (text: string): string[] => scanner.scanText(text).map((f) => f.kind);

describe('evasion', () => {
  it.each([
    [
      'full-width digits',
      'card ４１１１ １１１１ １１１１ １１１１ ok',
      'credit_card',
      '４１１１ １１１１ １１１１ １１１１',
    ],
    ['zero-width characters inside a number', 'SSN 536\u200B-22-\u200C1234 on file', 'ssn', '536\u200B-22-\u200C1234'],
    [
      'soft hyphen and word joiner',
      'card 4111\u00AD1111\u20601111\u00AD1111',
      'credit_card',
      '4111\u00AD1111\u20601111\u00AD1111',
    ],
    ['Unicode dashes', 'SSN 536\u201122\u20131234', 'ssn', '536\u201122\u20131234'],
    [
      'no-break spaces',
      'IBAN DE89\u00A03704\u00A00044\u00A00532\u00A00130\u00A000',
      'iban',
      'DE89\u00A03704\u00A00044\u00A00532\u00A00130\u00A000',
    ],
    ['Arabic-Indic digits', 'ssn ٥٣٦-٢٢-١٢٣٤', 'ssn', '٥٣٦-٢٢-١٢٣٤'],
    ['Devanagari digits', 'phone ४१५-५५५-२६७१', 'phone', '४१५-५५५-२६७१'],
    ['mathematical bold digits (surrogate pairs)', 'card 𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏', 'credit_card', '𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏'],
    ['full-width at sign', 'mail jane.doe＠example.com now', 'email', 'jane.doe＠example.com'],
    ['dots as separators', 'card 4111.1111.1111.1111'.replace(/\./g, ' '), 'credit_card', '4111 1111 1111 1111'],
    [
      'one digit per group with context',
      'credit card: 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1',
      'credit_card',
      '4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1',
    ],
  ])('%s', (_name, text, kind, value) => {
    const findings = scanner.scanText(text).filter((f) => f.kind === kind);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    // Offsets refer to the original string, so redaction removes exactly the evasive characters.
    expect(text.slice(f.start, f.end)).toBe(value);
    const redacted = scanner.redactText(text).text;
    expect(redacted).toBe(text.replace(value, `[REDACTED:${kind}]`));
  });

  it('treats nine bare digits as an SSN only with context or dashes', () => {
    expect(kindsIn('Tracking 536221234 shipped')).toEqual([]);
    expect(kindsIn('SSN 536221234')).toEqual(['ssn']);
    expect(kindsIn('id 536-22-1234')).toEqual(['ssn']);
    expect(scanner.scanText('536221234', 'ssn').map((f) => f.kind)).toEqual(['ssn']);
  });
});

describe('redaction styles', () => {
  const text = 'SSN 536-22-1234, card 4111 1111 1111 1111, mail jane.doe@example.com, key AKIAIOSFODNN7EXAMPLE';

  it('mask with the kind label', () => {
    expect(scanner.redactText(text).text).toBe(
      'SSN [REDACTED:ssn], card [REDACTED:credit_card], mail [REDACTED:email], key [REDACTED:secret]',
    );
  });

  it('mask with stars', () => {
    expect(createPiiScanner({ mask: 'stars' }).redactText(text).text).toBe('SSN ****, card ****, mail ****, key ****');
  });

  it('partial keeps the last four of numbers and the domain of emails; secrets stay fully masked', () => {
    expect(createPiiScanner({ style: 'partial' }).redactText(text).text).toBe(
      'SSN ***-**-1234, card **** **** **** 1111, mail j***@example.com, key [REDACTED:secret]',
    );
  });

  it('hash correlates equal values (also across formatting) without exposing them', () => {
    const hashed = createPiiScanner({ style: 'hash', hashKey: 'a-test-key-of-32-bytes-0123456789' });
    const a = hashed.redactText('card 4111 1111 1111 1111').text;
    const b = hashed.redactText('card 4111-1111-1111-1111').text;
    const c = hashed.redactText('card 5555 5555 5555 4444').text;
    expect(a).toMatch(/^card \[REDACTED:credit_card:hmac-[0-9a-f]{12}\]$/);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const otherKey = createPiiScanner({ style: 'hash', hashKey: 'another-key-of-32-bytes-987654321' });
    expect(otherKey.redactText('card 4111 1111 1111 1111').text).not.toBe(a);
    expect(a).not.toContain('4111');
  });

  it('hash without a key is a configuration error that says how to fix it', () => {
    expect(() => createPiiScanner({ style: 'hash' })).toThrow(/hashKey of at least 16 bytes/);
  });

  it('redacted output does not contain PII any more', () => {
    for (const style of ['mask', 'partial'] as const) {
      const s = createPiiScanner({ style });
      const once = s.redactText(text);
      expect(once.summary.total).toBe(4);
      expect(s.scanText(once.text)).toEqual([]);
    }
  });
});

describe('summaries and findings never carry the value', () => {
  it('reports kinds and counts only', () => {
    const value = { a: 'mail jane.doe@example.com and bob@example.org', b: ['SSN 536-22-1234'] };
    const report = scanner.scanJson(value);
    expect(report.summary).toEqual({ found: true, total: 3, counts: { email: 2, ssn: 1 } });
    const serialised = JSON.stringify(report);
    for (const secret of ['jane.doe', 'bob@', '536-22']) expect(serialised).not.toContain(secret);
  });
});

describe('JSON scanning', () => {
  const toolResult = {
    content: [
      { type: 'text', text: 'Customer jane.doe@example.com called from (415) 555-2671' },
      {
        type: 'text',
        text: JSON.stringify(
          { customer: { ssn: '536221234', cards: [{ number: 4111111111111111 }] }, note: 'ok' },
          null,
          2,
        ),
      },
    ],
    structuredContent: { ip: '203.0.113.42', password: 'hunter2!', retries: 3 },
    isError: false,
  };

  it('finds PII in string leaves, numbers, nested JSON strings and by key', () => {
    const { findings, summary } = scanner.scanJson(toolResult);
    expect(findings.map((f) => `${f.path} ${f.kind}`).sort()).toEqual(
      [
        '$.content[0].text email',
        '$.content[0].text phone',
        '$.content[1].text<json>.customer.ssn ssn',
        '$.content[1].text<json>.customer.cards[0].number credit_card',
        '$.structuredContent.ip ip_address',
        '$.structuredContent.password secret',
      ].sort(),
    );
    expect(summary.total).toBe(6);
  });

  it('redacts into a copy, re-serialising nested JSON with its indentation', () => {
    const before = JSON.stringify(toolResult);
    const { value, summary } = scanner.redactJson(toolResult);
    expect(JSON.stringify(toolResult)).toBe(before); // input untouched
    expect(summary.total).toBe(6);
    const out = value as typeof toolResult;
    expect(out.content[0]!.text).toBe('Customer [REDACTED:email] called from [REDACTED:phone]');
    const nested = out.content[1]!.text;
    expect(nested).toContain('\n  "customer"');
    expect(JSON.parse(nested)).toEqual({
      customer: { ssn: '[REDACTED:ssn]', cards: [{ number: '[REDACTED:credit_card]' }] },
      note: 'ok',
    });
    expect(out.structuredContent).toEqual({ ip: '[REDACTED:ip_address]', password: '[REDACTED:secret]', retries: 3 });
    expect(out.isError).toBe(false);
  });

  it('copies only what changed: a clean value comes back as is, untouched branches are shared', () => {
    const clean = { content: [{ type: 'text', text: 'nothing to see' }], meta: { tags: ['a', 'b'] } };
    const r = scanner.redactJson(clean);
    expect(r.value).toBe(clean);
    expect(r.summary.found).toBe(false);
    const mixed = { meta: { tags: ['a'] }, content: [{ type: 'text', text: 'mail jane@example.com' }, { n: 1 }] };
    const before = JSON.stringify(mixed);
    const out = scanner.redactJson(mixed).value as typeof mixed;
    expect(JSON.stringify(mixed)).toBe(before); // input untouched
    expect(out).not.toBe(mixed);
    expect(Object.keys(out)).toEqual(['meta', 'content']); // key order kept
    expect(out.meta).toBe(mixed.meta);
    expect(out.content[1]).toBe(mixed.content[1]);
    expect(out.content[0]).toEqual({ type: 'text', text: 'mail [REDACTED:email]' });
  });

  it('finds PII in a key every time it occurs (key scans are memoised)', () => {
    const value = [{ 'jane@example.com': 1 }, { 'jane@example.com': 2 }, { plain_key_name: 'x' }];
    for (let i = 0; i < 2; i++) {
      expect(scanner.scanJson(value).findings.map((f) => f.path)).toEqual([
        '$[0]{[REDACTED:email]}',
        '$[1]{[REDACTED:email]}',
      ]);
      expect(scanner.redactJson(value).value).toEqual([
        { '[REDACTED:email]': 1 },
        { '[REDACTED:email]': 2 },
        { plain_key_name: 'x' },
      ]);
    }
  });

  it('scans keys, keeps PII out of paths and disambiguates colliding redacted keys', () => {
    const value = { 'jane@example.com': { role: 'admin' }, 'bob@example.com': { role: 'viewer' } };
    const { findings } = scanner.scanJson(value);
    expect(findings.map((f) => f.path)).toEqual(['${[REDACTED:email]}', '${[REDACTED:email]}']);
    const { value: out } = scanner.redactJson(value);
    expect(out).toEqual({ '[REDACTED:email]': { role: 'admin' }, '[REDACTED:email]~2': { role: 'viewer' } });
    expect(createPiiScanner({ scanKeys: false }).scanJson(value).findings).toEqual([]);
  });

  it('leaves placeholders under secret-looking keys alone', () => {
    expect(scanner.scanJson({ password: '********', api_key: '${API_KEY}', token: null }).findings).toEqual([]);
  });

  it('scans a JSON string holding JSON holding JSON', () => {
    const inner = JSON.stringify({ email: 'deep@example.com' });
    const outer = JSON.stringify({ payload: inner });
    const { findings } = scanner.scanJson({ text: outer });
    expect(findings.map((f) => f.path)).toEqual(['$.text<json>.payload<json>.email']);
    const { value } = scanner.redactJson({ text: outer });
    const decoded = JSON.parse(JSON.parse((value as { text: string }).text).payload as string) as { email: string };
    expect(decoded.email).toBe('[REDACTED:email]');
  });

  it('scans text that merely looks like JSON as text', () => {
    expect(scanner.scanJson(['{ not json, mail me at a.b@example.com }']).findings.map((f) => f.kind)).toEqual([
      'email',
    ]);
  });
});

describe('actions', () => {
  const value = { text: 'card 4111 1111 1111 1111' };

  it('redact returns the redacted value', () => {
    const r = createPiiScanner({ action: 'redact' }).apply(value);
    expect(r).toEqual({
      action: 'redact',
      blocked: false,
      value: { text: 'card [REDACTED:credit_card]' },
      summary: { found: true, total: 1, counts: { credit_card: 1 } },
    });
  });

  it('block reports that the value must not pass, only when PII is present', () => {
    const block = createPiiScanner({ action: 'block' });
    expect(block.apply(value)).toMatchObject({ action: 'block', blocked: true, value });
    expect(block.apply({ text: 'nothing here' })).toMatchObject({ blocked: false });
  });

  it('alert reports without changing the value', () => {
    expect(createPiiScanner({ action: 'alert' }).apply(value)).toMatchObject({
      action: 'alert',
      blocked: false,
      value,
      summary: { total: 1 },
    });
  });
});

describe('options', () => {
  it('runs only the enabled kinds (seed list) and accepts aliases', () => {
    const seed = createPiiScanner({ kinds: ['ssn', 'credit_card', 'email', 'phone'] });
    expect(seed.kinds).toEqual(['ssn', 'credit_card', 'email', 'phone']);
    expect(seed.scanText('from 203.0.113.42 key AKIAIOSFODNN7EXAMPLE')).toEqual([]);
    expect(createPiiScanner({ kinds: ['secrets', 'ip'] }).kinds).toEqual(['secret', 'ip_address']);
  });

  it('rejects unknown kinds with the list of known ones', () => {
    expect(() => createPiiScanner({ kinds: ['ssn', 'passport'] })).toThrow(PiiConfigError);
    expect(() => createPiiScanner({ kinds: ['passport'] })).toThrow(
      /unknown PII kind 'passport' \(known: ssn, credit_card/,
    );
  });

  it('custom patterns: detected, context-gated, masked with their name', () => {
    const s = createPiiScanner({
      kinds: [],
      custom: [
        { name: 'employee_id', pattern: 'EMP-\\d{6}' },
        { name: 'case_number', pattern: '\\b\\d{8}\\b', context: ['case'] },
      ],
    });
    expect(s.redactText('EMP-123456 opened case 12345678. Unrelated: the nightly build was 87654321').text).toBe(
      '[REDACTED:employee_id] opened case [REDACTED:case_number]. Unrelated: the nightly build was 87654321',
    );
  });

  it.each([
    [{ name: 'Bad Name', pattern: 'x' }, /lower-case letters/],
    [{ name: 'ssn', pattern: 'x' }, /built-in kind/],
    [{ name: 'broken', pattern: '(' }, /invalid regular expression/],
    [{ name: 'nested', pattern: '(a+)+$' }, /backtrack catastrophically/],
    [{ name: 'nested2', pattern: '(\\d{3}-)+' }, /backtrack catastrophically/],
    [{ name: 'empty', pattern: 'x*' }, /matches the empty string/],
    [{ name: 'flags', pattern: 'x', flags: 'y' }, /flags may only contain/],
  ])('custom pattern %o is refused', (pattern, message) => {
    expect(() => createPiiScanner({ custom: [pattern] })).toThrow(message);
  });

  it('uses the default phone region for national numbers', () => {
    const uk = createPiiScanner({ kinds: ['phone'], defaultPhoneRegion: 'GB' });
    expect(uk.scanText('call 020 7946 0958').map((f) => f.label)).toEqual(['phone_gb']);
    expect(createPiiScanner({ kinds: ['phone'] }).scanText('call 020 7946 0958')).toEqual([]);
  });
});

describe('key context in JSON', () => {
  it('does not treat pagination tokens or version fields as secrets or addresses', () => {
    const value = {
      next_page_token: 'CgQIARAB9xk2',
      progressToken: 'p-42a9',
      version: '10.2.3.4',
      access_token: 'ya29.a0AfH6SMBx3',
    };
    expect(scanner.scanJson(value).findings.map((f) => `${f.path} ${f.kind}`)).toEqual(['$.access_token secret']);
  });

  it('uses the key as context for bare numbers', () => {
    const value = { phone: '4155552671', ssn: 536221234, order: '4155552671' };
    expect(scanner.scanJson(value).findings.map((f) => `${f.path} ${f.kind}`)).toEqual(['$.phone phone', '$.ssn ssn']);
  });
});

describe('limits', () => {
  it('refuses values nested deeper than 512 levels instead of passing them unscanned', () => {
    let deep: unknown = 'mail a.b@example.com';
    for (let i = 0; i < 600; i++) deep = [deep];
    expect(() => scanner.scanJson(deep)).toThrow(PiiScanError);
    expect(() => scanner.redactJson(deep)).toThrow(/nested deeper than 512 levels at \$\[0\]/);
  });
});
