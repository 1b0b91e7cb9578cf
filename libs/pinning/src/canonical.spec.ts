import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { canonicalJson, definitionHash, PinningError } from './canonical.js';

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys at every depth and drops insignificant whitespace', () => {
    const a = JSON.parse('{ "name": "echo", "inputSchema": { "type": "object", "properties": { "b": {}, "a": {} } } }');
    const b = JSON.parse('{"inputSchema":{"properties":{"a":{},"b":{}},"type":"object"},"name":"echo"}');
    expect(canonicalJson(a)).toBe('{"inputSchema":{"properties":{"a":{},"b":{}},"type":"object"},"name":"echo"}');
    expect(definitionHash(a)).toBe(definitionHash(b));
  });

  it('keeps array order (it is significant) and formats numbers the ECMAScript way', () => {
    expect(canonicalJson({ x: [3, 1, 2], n: 1e21, f: 0.1, z: -0, i: 10.0 })).toBe(
      '{"f":0.1,"i":10,"n":1e+21,"x":[3,1,2],"z":0}',
    );
    expect(definitionHash([1, 2])).not.toBe(definitionHash([2, 1]));
  });

  it('orders keys by UTF-16 code units and writes non-ASCII text as is (RFC 8785 3.2.3 example)', () => {
    // The RFC's sorting example: code-unit order puts U+20AC (€) before U+1F600 (surrogate pair D83D DE00) after "\r".
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      ö: 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(value)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('tells visually similar text apart (no Unicode normalisation: a changed byte is a changed definition)', () => {
    expect(definitionHash({ description: 'caf\u00e9' })).not.toBe(definitionHash({ description: 'cafe\u0301' }));
  });

  it('hashes the UTF-8 bytes of the canonical text with SHA-256', () => {
    const text = canonicalJson({ b: 'ü', a: 1 });
    expect(definitionHash({ b: 'ü', a: 1 })).toBe(
      `sha256:${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex')}`,
    );
    expect(definitionHash('instructions text')).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses what JSON cannot carry, with a PinningError', () => {
    expect(() => canonicalJson({ d: '\ud800' })).toThrow(PinningError);
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson(undefined)).toThrow(/not a JSON value/);
  });
});
