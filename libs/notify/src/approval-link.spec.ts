import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ApprovalLinkError, ApprovalLinkSigner, loadLinkKey } from './approval-link.js';

const signer = new ApprovalLinkSigner('s'.repeat(32));
const claims = { operationId: 'op-0123456789abcdef0123', approver: 'alice@company.com', argsHash: 'a'.repeat(64) };

function problemOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ApprovalLinkError ? error.problem : `other: ${(error as Error).message}`;
  }
  return undefined;
}

describe('ApprovalLinkSigner', () => {
  it('round-trips claims with a fresh link id per issue', () => {
    const a = signer.issue({ ...claims, exp: 2_000 });
    const b = signer.issue({ ...claims, exp: 2_000 });
    expect(a.token).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(a.claims.jti).not.toBe(b.claims.jti);
    expect(signer.verify(a.token, 1_000)).toEqual({ ...claims, exp: 2_000, jti: a.claims.jti });
  });

  it('refuses expired, tampered, foreign-key and malformed links', () => {
    const { token } = signer.issue({ ...claims, exp: 2_000 });
    expect(problemOf(() => signer.verify(token, 2_000))).toBe('expired');
    const [v, payload, mac] = token.split('.');
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'eve@x.io' }),
    ).toString('base64url');
    expect(problemOf(() => signer.verify(`${v}.${other}.${mac}`, 1_000))).toBe('tampered');
    expect(problemOf(() => new ApprovalLinkSigner('k'.repeat(32)).verify(token, 1_000))).toBe('tampered');
    expect(problemOf(() => signer.verify('v1.abc', 1_000))).toBe('malformed');
    expect(problemOf(() => signer.verify('v2.a.b', 1_000))).toBe('malformed');
  });

  it('binds CSRF tokens to the link id and the cookie nonce', () => {
    const t = signer.csrfToken('jti-1', 'nonce-1');
    expect(signer.checkCsrf('jti-1', 'nonce-1', t)).toBe(true);
    expect(signer.checkCsrf('jti-2', 'nonce-1', t)).toBe(false);
    expect(signer.checkCsrf('jti-1', 'nonce-2', t)).toBe(false);
    expect(signer.checkCsrf('jti-1', undefined, t)).toBe(false);
    expect(signer.checkCsrf('jti-1', 'nonce-1', undefined)).toBe(false);
  });

  it('refuses keys shorter than 32 bytes', () => {
    expect(() => new ApprovalLinkSigner('short')).toThrow('at least 32 bytes');
  });
});

describe('loadLinkKey', () => {
  it('prefers the configured secret', () => {
    expect(loadLinkKey({ linkSecret: 'x'.repeat(40), linkKeyFile: '/nonexistent/key' }).toString()).toBe(
      'x'.repeat(40),
    );
  });

  it('generates a 0600 key file once and reuses it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'atom-gov-key-')), 'data', 'approval-link.key');
    const first = loadLinkKey({ linkKeyFile: file });
    expect(first).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadLinkKey({ linkKeyFile: file }).equals(first)).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('base64url'));
  });
});
