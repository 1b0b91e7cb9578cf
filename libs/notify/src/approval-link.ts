import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NotificationsConfig } from '@atom-gov/config';

/** What an approval link grants: one decision on one operation by one approver, until `exp`. */
export interface ApprovalLinkClaims {
  /** Link id: single-use key, and the `via` of the decision in the audit trail. */
  jti: string;
  operationId: string;
  approver: string;
  /** The call the approver is shown; the workflow refuses the vote if the operation is for other arguments. */
  argsHash: string;
  /** Expiry, epoch ms. */
  exp: number;
}

export type ApprovalLinkProblem = 'malformed' | 'tampered' | 'expired';

export class ApprovalLinkError extends Error {
  constructor(
    readonly problem: ApprovalLinkProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ApprovalLinkError';
  }
}

const VERSION = 'v1';

/**
 * HMAC-SHA256 signed, URL-safe approval links (`v1.<payload>.<mac>`). HMAC rather than JWS: one party both signs
 * and verifies, and the token stays short enough for mail clients that wrap long URLs.
 */
export class ApprovalLinkSigner {
  private readonly key: Buffer;

  constructor(secret: string | Buffer) {
    this.key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (this.key.length < 32) throw new Error('approval link key must be at least 32 bytes');
  }

  issue(claims: Omit<ApprovalLinkClaims, 'jti'> & { jti?: string }): { token: string; claims: ApprovalLinkClaims } {
    const full: ApprovalLinkClaims = { jti: claims.jti ?? randomUUID(), ...claims } as ApprovalLinkClaims;
    const payload = Buffer.from(
      JSON.stringify({ jti: full.jti, op: full.operationId, sub: full.approver, ah: full.argsHash, exp: full.exp }),
    ).toString('base64url');
    return { token: `${VERSION}.${payload}.${this.mac(payload)}`, claims: full };
  }

  /** Checks signature first (a tampered token says nothing), then expiry. */
  verify(token: string, now = Date.now()): ApprovalLinkClaims {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) {
      throw new ApprovalLinkError('malformed', 'this is not an approval link');
    }
    const expected = Buffer.from(this.mac(parts[1]));
    const given = Buffer.from(parts[2]);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new ApprovalLinkError('tampered', 'the link was altered or was not issued by this gateway');
    }
    let raw: { jti?: unknown; op?: unknown; sub?: unknown; ah?: unknown; exp?: unknown };
    try {
      raw = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof raw;
    } catch {
      throw new ApprovalLinkError('malformed', 'this is not an approval link');
    }
    if (
      typeof raw.jti !== 'string' ||
      typeof raw.op !== 'string' ||
      typeof raw.sub !== 'string' ||
      typeof raw.ah !== 'string' ||
      typeof raw.exp !== 'number'
    ) {
      throw new ApprovalLinkError('malformed', 'this is not an approval link');
    }
    const claims: ApprovalLinkClaims = {
      jti: raw.jti,
      operationId: raw.op,
      approver: raw.sub,
      argsHash: raw.ah,
      exp: raw.exp,
    };
    if (now >= claims.exp) {
      throw new ApprovalLinkError('expired', `the link expired at ${new Date(claims.exp).toISOString()}`);
    }
    return claims;
  }

  /**
   * CSRF token for the confirmation form: bound to the link id and to a random nonce kept in a SameSite=Strict
   * cookie, so a forged cross-site POST has neither the cookie nor a matching field.
   */
  csrfToken(jti: string, nonce: string): string {
    return this.mac(`csrf\n${jti}\n${nonce}`);
  }

  checkCsrf(jti: string, nonce: string | undefined, token: string | undefined): boolean {
    if (!nonce || !token) return false;
    const expected = Buffer.from(this.csrfToken(jti, nonce));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(data: string): string {
    return createHmac('sha256', this.key).update(`atom-gov/approval-link\n${data}`).digest('base64url');
  }
}

/** The configured link secret, or a key generated once into the data dir (0600) and reused by every process. */
export function loadLinkKey(config: Pick<NotificationsConfig, 'linkSecret' | 'linkKeyFile'>): Buffer {
  if (config.linkSecret !== undefined) return Buffer.from(config.linkSecret, 'utf8');
  try {
    return Buffer.from(readFileSync(config.linkKeyFile, 'utf8').trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(config.linkKeyFile), { recursive: true });
  const key = randomBytes(32);
  try {
    // wx: when two processes race, the first file wins and the loser reads it.
    writeFileSync(config.linkKeyFile, key.toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
    chmodSync(config.linkKeyFile, 0o600);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return Buffer.from(readFileSync(config.linkKeyFile, 'utf8').trim(), 'base64url');
  }
}
