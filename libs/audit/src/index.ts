export {
  AUDIT_DECISIONS,
  AUDIT_OUTCOMES,
  type AuditDecision,
  type AuditEvent,
  type AuditEventInput,
  type AuditOutcome,
  type AuditQuery,
} from './audit-event.js';
export {
  type AuditFieldCipher,
  type AuditRedactor,
  ERASED_PLACEHOLDER,
  isSealed,
  SEALED_PREFIX,
} from './audit-hooks.js';
export {
  applyAuditFilter,
  decodeAuditCursor,
  encodeAuditCursor,
  openSealedFields,
  SEALABLE_FIELDS,
} from './audit-query.js';
export { type AuditDriver, type AuditEventRow, auditEventSchema } from './audit-event.entity.js';
export { AuditEventInvalidError, AuditStoreUnavailableError } from './audit-store.errors.js';
export { type AuditHealth, type AuditHealthError } from './audit-health.js';
export { type AuditStore, type AuditStoreOptions, openAuditStore } from './audit-store.service.js';
export { type AuditEventStream, type AuditStreamOptions, DEFAULT_STREAM_BATCH } from './audit-stream.js';
export { createDataSource, type DataSourceOptions, migrations, redactUrl } from './data-source.js';
export { type GroupCommitBacklog, type GroupCommitStats } from './group-commit.js';
export {
  openQuotaStore,
  periodStartOf,
  type QuotaReserveRequest,
  type QuotaReserveResult,
  type QuotaStore,
} from './quota-store.service.js';
export { type QuotaCounterRow, type QuotaReservationRow } from './quota.entity.js';
export { canonicalRecord, type ChainRecord, chainHash, GENESIS_HASH } from './chain/chain-record.js';
export {
  type ChainProblem,
  type ChainProblemKind,
  type TenantVerification,
  type VerifyOptions,
  type VerifyReport,
} from './chain/chain-verifier.js';
export { type ChainHead, type PurgeResult } from './chain/chain-writer.js';
export { type AuditChainConfig, auditChainOptions } from './chain/chain-options.js';
export { type CheckpointOptions } from './chain/checkpointer.js';
export { retentionCutoff } from './chain/retention-cutoff.js';
export {
  type Checkpoint,
  type CheckpointReason,
  CheckpointSigner,
  keyIdOf,
  loadPublicKey,
  verifyCheckpoint,
} from './chain/checkpoint-signer.js';
export { loadMasterKey, type MasterKey, MasterKeyError, type MasterKeyOptions } from './crypto/master-key.js';
export {
  parseSealed,
  SealedFieldError,
  type TenantKeyInfo,
  TenantKeyring,
  type TenantKeyringOptions,
} from './crypto/tenant-keyring.service.js';
export { type AuditPrivacy, type AuditPrivacyOptions, openAuditPrivacy } from './privacy/audit-privacy.js';
export { createPiiAuditRedactor } from './privacy/pii-audit-redactor.js';
export {
  type ConfiguredAuditStore,
  type ConfiguredAuditStoreOptions,
  openConfiguredAuditStore,
} from './spool/open-configured-audit-store.js';
export {
  type SpoolControl,
  type SpoolingAuditStore,
  type SpoolingAuditStoreOptions,
  withAuditSpool,
} from './spool/spooling-audit-store.js';
