import { join } from 'node:path';
import { type AuditStore, type AuditStoreOptions, openAuditStore } from '../audit-store.service.js';
import { type AuditPrivacy, type AuditPrivacyOptions, openAuditPrivacy } from '../privacy/audit-privacy.js';
import { type SpoolControl, withAuditSpool } from './spooling-audit-store.js';

export interface ConfiguredAuditStoreOptions extends AuditPrivacyOptions {
  /** Spool fast-path events locally while the database is down (the gateway); default false. */
  spool?: boolean;
  /** Default `<dataDir>/audit-spool.jsonl`. */
  spoolPath?: string;
  pingIntervalMs?: number;
  onStateChange?: (degraded: boolean, detail: string) => void;
  /** Further store options (e.g. the chain's checkpoints from `auditChainOptions(config.audit)`). */
  storeOptions?: Omit<AuditStoreOptions, 'databaseUrl' | 'sqlitePath' | 'cipher' | 'redactor'>;
}

/** isDegraded()/assertAvailable(): governed calls must refuse while the database is unavailable. */
export type ConfiguredAuditStore = AuditStore &
  Pick<SpoolControl, 'isDegraded' | 'assertAvailable'> & {
    readonly privacy: AuditPrivacy;
  };

/**
 * The audit store as the config asks for it: PII redaction before storage, field encryption under per-tenant keys
 * (`audit.encrypt`), and, for the gateway, a local spool while the database is unavailable.
 */
export async function openConfiguredAuditStore(opts: ConfiguredAuditStoreOptions): Promise<ConfiguredAuditStore> {
  const privacy = await openAuditPrivacy(opts);
  let inner: AuditStore;
  try {
    inner = await openAuditStore({
      ...opts.storeOptions,
      ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
      sqlitePath: opts.sqlitePath,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      // A reader opens sealed fields whenever it has the keys; only a writer with encryption on seals.
      ...(privacy.keyring && (opts.encrypt || opts.forReading) ? { cipher: privacy.keyring } : {}),
      ...(privacy.redactor ? { redactor: privacy.redactor } : {}),
    });
  } catch (error) {
    await privacy.close();
    throw error;
  }
  const closeInner = inner.close.bind(inner);
  inner.close = async () => {
    await closeInner();
    await privacy.close();
  };
  if (!opts.spool) {
    return Object.assign(inner, {
      isDegraded: () => false,
      assertAvailable: () => undefined,
      privacy,
    });
  }
  const spooling = withAuditSpool(Object.assign(inner, { privacy }), {
    spoolPath: opts.spoolPath ?? join(opts.dataDir, 'audit-spool.jsonl'),
    ...(privacy.redactor ? { redactor: privacy.redactor } : {}),
    ...(privacy.spoolKey && opts.encrypt ? { spoolKey: privacy.spoolKey } : {}),
    ...(opts.pingIntervalMs !== undefined ? { pingIntervalMs: opts.pingIntervalMs } : {}),
    ...(opts.onStateChange ? { onStateChange: opts.onStateChange } : {}),
  });
  return spooling;
}
