import { describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { csvField } from './audit-export.js';

// The export writes CSV rows with its own loop for speed; it must write exactly what csv-stringify writes with
// escape_formulas (the library the rest of the CLI uses), and parse back to the escaped values.
const CELLS: unknown[] = [
  'plain',
  '',
  '=HYPERLINK("http://evil")',
  '+1+2',
  '-2+3',
  '@SUM(A1)',
  '\tTAB',
  '\rCR',
  '\uFF1Dfull-width',
  '\uFF0B1',
  '\uFF0D1',
  '\uFF20x',
  'comma, inside',
  'quote " inside',
  'line\nbreak',
  'crlf\r\nend',
  '  spaces  ',
  'ünïcødé ✓',
  -5,
  0,
  3.25,
  new Date(Date.UTC(2026, 9, 1, 12, 30)),
  ['r1', 'r2'],
  { nested: '=x' },
  undefined,
  null,
];

function libraryCell(value: unknown): string | number {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.join('; ');
  if (typeof value === 'number') return value;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

describe('csvField', () => {
  it.each(CELLS.map((c) => [c]))('writes %p as csv-stringify with escape_formulas does', (cell) => {
    const library = stringify([[libraryCell(cell), 'end']], { escape_formulas: true });
    expect(`${csvField(cell)},end\n`).toBe(library);
  });

  it('a whole row parses back to the escaped cells', () => {
    const line = `${CELLS.map((c) => csvField(c)).join(',')}\n`;
    const [row] = parse(line) as string[][];
    expect(row).toHaveLength(CELLS.length);
    expect(row![2]).toBe(`'=HYPERLINK("http://evil")`);
    expect(row![14]).toBe('line\nbreak');
    expect(row![18]).toBe('-5'); // a negative number is a number, not a formula
  });
});
