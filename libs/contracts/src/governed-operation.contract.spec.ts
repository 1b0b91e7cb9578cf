import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { isOperationId, opaqueUserRef, operationWorkflowId } from './governed-operation.contract.js';

describe('governed operation ids', () => {
  it('is deterministic per tenant and request key, and differs across tenants', () => {
    const a = operationWorkflowId('acme', 'k1');
    expect(a).toBe(operationWorkflowId('acme', 'k1'));
    expect(a).not.toBe(operationWorkflowId('globex', 'k1'));
    expect(a).not.toBe(operationWorkflowId('acme', 'k2'));
    expect(isOperationId(a)).toBe(true);
    // Same digest as Node's sha256 over the documented input: the pure-JS hash is the real one.
    const expected = createHash('sha256').update('atom-gov/op/v1\nacme\nk1').digest('hex').slice(0, 20);
    expect(a).toBe(`op-${expected}`);
  });

  it('refuses empty parts and recognises only well-formed ids', () => {
    expect(() => operationWorkflowId('', 'k')).toThrow(/tenant and a request key/);
    expect(isOperationId('op-12345')).toBe(false);
    expect(isOperationId('op-0123456789abcdef0123')).toBe(true);
  });

  it('gives an opaque user reference without the address in it', () => {
    const ref = opaqueUserRef('acme', 'alice@company.com');
    expect(ref).toMatch(/^u-[0-9a-f]{16}$/);
    expect(ref).not.toContain('alice');
    expect(ref).not.toBe(opaqueUserRef('globex', 'alice@company.com'));
  });
});
