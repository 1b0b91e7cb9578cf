// Whether a caller counts as "on this host" for local_only: the stdio bridge, or a loopback address.
import { isIP } from 'node:net';

export function isLocalCaller(transport: 'http' | 'stdio', remoteAddress?: string): boolean {
  if (transport === 'stdio') return true;
  if (!remoteAddress) return false; // unknown peer: not local (fail closed)
  const addr = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
  if (isIP(addr) === 4) return addr.startsWith('127.');
  return addr === '::1';
}
