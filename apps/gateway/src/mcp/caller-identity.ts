// Who is calling: `Authorization: Bearer <key>` hashed (sha256) and matched against gateway.apiKeys, else the
// configured anonymous identity when the config allows unauthenticated access.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AtomGovConfig } from '@atom-gov/config';
import type { CallerIdentity } from '@atom-gov/mcp';

export type CallerResolution =
  { ok: true; identity: CallerIdentity; keyName?: string } | { ok: false; status: 401; message: string };

export function resolveCaller(authorization: string | undefined, gateway: AtomGovConfig['gateway']): CallerResolution {
  if (authorization !== undefined && authorization !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m)
      return { ok: false, status: 401, message: 'Unauthorized: the Authorization header must be "Bearer <api key>"' };
    const digest = createHash('sha256').update(m[1]!).digest();
    for (const key of gateway.apiKeys) {
      const expected = Buffer.from(key.sha256, 'hex');
      if (expected.length === digest.length && timingSafeEqual(expected, digest)) {
        return { ok: true, identity: { tenant: key.tenant, user: key.user, roles: key.roles }, keyName: key.name };
      }
    }
    return { ok: false, status: 401, message: 'Unauthorized: unknown API key' };
  }
  if (gateway.allowUnauthenticated) return { ok: true, identity: gateway.anonymous };
  return {
    ok: false,
    status: 401,
    message: 'Unauthorized: send "Authorization: Bearer <api key>" (keys are configured under gateway.api_keys)',
  };
}
