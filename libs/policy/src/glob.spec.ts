import { describe, expect, it } from '@jest/globals';
import { compileGlob, compileNames, matchScore } from './glob.js';

describe('globs', () => {
  it.each([
    ['research.*', 'research.deep', true],
    ['research.*', 'research', false],
    ['research.*', 'xresearch.deep', false],
    ['*-prod-*', 'my-prod-worker', true],
    ['*-prod-*', 'staging', false],
    ['*-prod-*', 'prod-worker', false],
    ['workers.deploy', 'workers.deploy', true],
    ['workers.deploy', 'workersXdeploy', false], // dots are literal
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file.txt', false],
    ['a**b', 'ab', true],
    ['*', '', true],
    ['s3://bucket-*/*.csv', 's3://bucket-eu/x/y.csv', true],
    ['(x)+[y]', '(x)+[y]', true],
  ])('%s ~ %s: %s', (pattern, text, expected) => {
    expect(compileGlob(pattern).test(text)).toBe(expected);
  });

  it('stays fast on long values that almost match (no catastrophic backtracking)', () => {
    const glob = compileGlob('*a*a*a*a*a*b');
    const text = 'a'.repeat(20_000);
    const start = process.hrtime.bigint();
    expect(glob.test(text)).toBe(false);
    // A backtracking regex needs ~n^5 steps here; the scan needs at most n × pattern length.
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(500);
  });

  it('scores exact names over globs over the whole-list wildcard', () => {
    const m = compileNames(['read_file', 'read_*', 'all']);
    expect(matchScore(m, 'read_file')).toBe(2);
    expect(matchScore(m, 'read_dir')).toBe(1);
    expect(matchScore(m, 'write')).toBe(0);
    expect(matchScore(compileNames(['read_*']), 'write')).toBe(-1);
  });
});
