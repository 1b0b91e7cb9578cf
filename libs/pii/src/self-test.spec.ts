import { describe, expect, it } from '@jest/globals';
import { BUILTIN_PII_KINDS } from './pii.types.js';
import { selfTest } from './self-test.js';

describe('selfTest', () => {
  it('passes for every built-in kind', () => {
    expect(selfTest(BUILTIN_PII_KINDS)).toEqual([]);
    expect(selfTest(['ssn', 'credit_card', 'email', 'phone'])).toEqual([]);
  });

  it('passes for a custom pattern with a sample and fails without one', () => {
    const custom = [
      { name: 'employee_id', pattern: 'EMP-\\d{6}', sample: 'owner EMP-123456' },
      { name: 'badge', pattern: 'B\\d{4}' },
    ];
    expect(selfTest(['employee_id'], { custom })).toEqual([]);
    expect(selfTest(['badge'], { custom })).toEqual([
      { kind: 'badge', reason: 'custom pattern has no sample: add `sample:` with one example match' },
    ]);
  });

  it('fails when a recognizer cannot mask its sample', () => {
    const custom = [{ name: 'order_ref', pattern: 'ORD-\\d{6}', sample: 'no reference in here' }];
    expect(selfTest(['order_ref'], { custom })).toEqual([{ kind: 'order_ref', reason: 'sample was not detected' }]);
  });

  it('fails when the configuration cannot build a scanner (e.g. raised confidence threshold)', () => {
    expect(selfTest(['ssn'], { minConfidence: 1.5 })).toEqual([{ kind: 'ssn', reason: 'sample was not detected' }]);
    expect(selfTest(['passport'])).toEqual([
      { kind: 'passport', reason: expect.stringContaining('unknown PII kind') as unknown as string },
    ]);
  });
});
