// Opens the audit store the way the config asks for it (redaction, encryption, spool), for every CLI command that
// touches the audit trail. The master key comes from ATOM_GOV_MASTER_KEY / ATOM_GOV_MASTER_KEY_FILE or the data dir.
import type { ConfiguredAuditStore, ConfiguredAuditStoreOptions } from '@atom-gov/audit';
import { type AtomGovConfig, readEnv } from '@atom-gov/config';

export interface AuditAccessOptions {
  /** Readers open sealed fields when a key is available, and never generate one. */
  forReading?: boolean;
  /** The gateway spools fast-path events while the database is unavailable. */
  spool?: boolean;
  env?: Record<string, string | undefined>;
  onWarning?: (message: string) => void;
  onStateChange?: (degraded: boolean, detail: string) => void;
  storeOptions?: ConfiguredAuditStoreOptions['storeOptions'];
}

export async function openAuditForConfig(
  config: AtomGovConfig,
  opts: AuditAccessOptions = {},
): Promise<ConfiguredAuditStore> {
  const { openConfiguredAuditStore } = await import('@atom-gov/audit');
  const masterKey = readEnv('ATOM_GOV_MASTER_KEY', opts.env);
  const masterKeyFile = readEnv('ATOM_GOV_MASTER_KEY_FILE', opts.env);
  return openConfiguredAuditStore({
    ...(config.database.url !== undefined ? { databaseUrl: config.database.url } : {}),
    sqlitePath: config.database.sqlitePath,
    dataDir: config.dataDir,
    encrypt: config.global.encryption || config.audit.encrypt,
    piiRedaction: !opts.forReading && config.audit.piiRedaction,
    ...(masterKey !== undefined ? { masterKey } : {}),
    ...(masterKeyFile !== undefined ? { masterKeyFile } : {}),
    ...(opts.forReading ? { forReading: true } : {}),
    ...(opts.spool ? { spool: true } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    ...(opts.onStateChange ? { onStateChange: opts.onStateChange } : {}),
    ...(opts.storeOptions ? { storeOptions: opts.storeOptions } : {}),
  });
}
