import { hkdfSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type PiiScannerOptions } from '@atom-gov/pii';
import { type AuditRedactor } from '../audit-hooks.js';
import { openDatabase } from '../audit-store.service.js';
import { type DataSourceOptions } from '../data-source.js';
import { loadMasterKey, MASTER_KEY_FILE } from '../crypto/master-key.js';
import { TenantKeyring, type TenantKeyringOptions } from '../crypto/tenant-keyring.service.js';
import { createPiiAuditRedactor } from './pii-audit-redactor.js';

export interface AuditPrivacyOptions extends DataSourceOptions, TenantKeyringOptions {
  /** `audit.encrypt` / `global.encryption`: seal new events' free-text fields. */
  encrypt: boolean;
  /** `audit.pii_redaction`: redact PII before storage. */
  piiRedaction: boolean;
  pii?: PiiScannerOptions;
  /** The data dir: where the embedded default master key lives. */
  dataDir: string;
  /** ATOM_GOV_MASTER_KEY (hex or base64). */
  masterKey?: string;
  /** ATOM_GOV_MASTER_KEY_FILE. */
  masterKeyFile?: string;
  /**
   * Readers (the CLI) open sealed fields whenever a master key is available, even with `encrypt` now off (older
   * events may be sealed); only a writer with `encrypt` on generates a key.
   */
  forReading?: boolean;
  onWarning?: (message: string) => void;
}

export interface AuditPrivacy {
  /** Present when encryption is on (or, for readers, when a master key is available). */
  keyring?: TenantKeyring;
  redactor?: AuditRedactor;
  /** Seals spooled events when encryption is on (derived from the master key: needs no database). */
  spoolKey?: Buffer;
  close(): Promise<void>;
}

/** Builds the cipher and redactor the audit store applies, from the config's audit settings. */
export async function openAuditPrivacy(opts: AuditPrivacyOptions): Promise<AuditPrivacy> {
  const redactor = opts.piiRedaction ? createPiiAuditRedactor(opts.pii) : undefined;
  const haveKey =
    Boolean(opts.masterKey) || Boolean(opts.masterKeyFile) || existsSync(join(opts.dataDir, MASTER_KEY_FILE));
  // A reader never generates a key (nothing it could open was sealed under a key that does not exist yet).
  if (opts.forReading ? !haveKey : !opts.encrypt) {
    return { ...(redactor ? { redactor } : {}), close: () => Promise.resolve() };
  }
  const master = loadMasterKey({
    ...(opts.masterKey !== undefined ? { masterKey: opts.masterKey } : {}),
    ...(opts.masterKeyFile !== undefined ? { masterKeyFile: opts.masterKeyFile } : {}),
    dataDir: opts.dataDir,
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  const { dataSource, driver } = await openDatabase(opts);
  const keyring = new TenantKeyring(dataSource, driver, master, opts);
  return {
    keyring,
    spoolKey: Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), 'atom-gov/audit-spool/v1', 32)),
    ...(redactor ? { redactor } : {}),
    close: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}
