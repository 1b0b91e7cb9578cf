import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type CheckpointReason = 'periodic' | 'idle' | 'close' | 'retention' | 'manual';

/**
 * A signed statement "tenant T's chain holds seq startSeq..seq, the event at seq has this hash, and the event
 * before startSeq had startPrevHash" (startSeq > 1 once retention purged older events).
 */
export interface Checkpoint {
  id: string;
  tenant: string;
  seq: number;
  hash: string;
  startSeq: number;
  startPrevHash: string;
  /** ISO 8601 UTC. */
  createdAt: string;
  reason: CheckpointReason;
  /** First 16 hex digits of sha256 over the public key (SPKI DER): says which key signed. */
  keyId: string;
  /** Ed25519 signature (base64) over `checkpointPayload`. */
  signature: string;
}

const PAYLOAD_FORMAT = 'atom-gov/audit-checkpoint/v1';

/** What is signed: every field but the signature, in a fixed order. */
export function checkpointPayload(c: Omit<Checkpoint, 'signature'>): Buffer {
  return Buffer.from(
    JSON.stringify([
      PAYLOAD_FORMAT,
      c.id,
      c.tenant,
      c.seq,
      c.hash,
      c.startSeq,
      c.startPrevHash,
      c.createdAt,
      c.reason,
      c.keyId,
    ]),
  );
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Reads a PEM public key, or derives it from a PEM private key; names the file when it is neither. */
export function loadPublicKey(path: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the public key ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`it is a ${key.asymmetricKeyType ?? 'unknown'} key`);
    return key;
  } catch (error) {
    throw new Error(
      `${path} is not an Ed25519 key in PEM form (${(error as Error).message}); ` +
        'export one with `atom-gov audit verify --export-public-key FILE`',
      { cause: error },
    );
  }
}

export function verifyCheckpoint(c: Checkpoint, publicKey: KeyObject): boolean {
  if (c.keyId !== keyIdOf(publicKey)) return false;
  try {
    return verify(null, checkpointPayload(c), publicKey, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The writer's Ed25519 key: read from `keyPath`, or generated there (mode 0600) on first use. */
export class CheckpointSigner {
  readonly keyId: string;

  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
  ) {
    this.keyId = keyIdOf(publicKey);
  }

  static open(keyPath: string): CheckpointSigner {
    let pem: string;
    try {
      pem = readFileSync(keyPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`cannot read the audit signing key ${keyPath}: ${(error as Error).message}`, { cause: error });
      }
      pem = generateKeyFile(keyPath);
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pem);
    } catch (error) {
      throw new Error(`${keyPath} is not a PEM private key: ${(error as Error).message}`, { cause: error });
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new Error(`${keyPath} holds a ${privateKey.asymmetricKeyType ?? 'unknown'} key; the audit key is Ed25519`);
    }
    return new CheckpointSigner(privateKey, createPublicKey(privateKey));
  }

  sign(unsigned: Omit<Checkpoint, 'signature' | 'keyId'>): Checkpoint {
    const withKey = { ...unsigned, keyId: this.keyId };
    return { ...withKey, signature: sign(null, checkpointPayload(withKey), this.privateKey).toString('base64') };
  }

  publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }
}

/**
 * Written to a temporary file, then hard-linked into place (atomic, fails if the name exists): when two processes
 * start at once, one complete key wins and both use it.
 */
function generateKeyFile(keyPath: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const tmp = `${keyPath}.${process.pid}.${randomUUID()}.tmp`;
  try {
    mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    linkSync(tmp, keyPath);
    return pem;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(keyPath, 'utf8');
    throw new Error(`cannot create the audit signing key ${keyPath}: ${(error as Error).message}`, { cause: error });
  } finally {
    rmSync(tmp, { force: true });
  }
}
