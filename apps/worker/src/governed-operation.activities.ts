import { v5 as uuidv5 } from 'uuid';
import { type AuditEventInput, type AuditStore, type QuotaStore } from '@atom-gov/audit';
import {
  quotaCounterKey,
  reserveInQuotaStore,
  type GovernedOperationActivities,
  type NotificationRequest,
  type OperationAuditRecord,
} from '@atom-gov/contracts';
import { type NotifierRegistry } from './notifier-registry.js';

/** Namespace for deriving audit event UUIDs from the workflow's idempotency keys (uuid v5). */
const AUDIT_ID_NAMESPACE = '4f6c1d1e-7a1b-5f0e-9c55-0a7d1b3e2c91';

export interface GovernedOperationDeps {
  audit: Pick<AuditStore, 'append'>;
  quotas: Pick<QuotaStore, 'reserve' | 'commit' | 'release'>;
  notifiers: Pick<NotifierRegistry, 'send'>;
}

// Shared with the gateway's eager reservation (@atom-gov/contracts); re-exported for existing importers.
export { quotaCounterKey };

/** The same idempotency key always gives the same audit event id, so a retried activity stores one event. */
export function auditEventId(key: string): string {
  return uuidv5(key, AUDIT_ID_NAMESPACE);
}

export function createGovernedOperationActivities(deps: GovernedOperationDeps): GovernedOperationActivities {
  return {
    async reserveQuota(input) {
      // The same request the gateway makes for an eager (quota-only) operation: same ids, same counters.
      return reserveInQuotaStore(deps.quotas, input);
    },
    async commitQuota({ reservationId, used }) {
      await deps.quotas.commit(reservationId, used);
    },
    async releaseQuota({ reservationId }) {
      await deps.quotas.release(reservationId);
    },
    async recordAudit(record: OperationAuditRecord) {
      await deps.audit.append(toAuditEvent(record));
    },
    async recordAuditBatch(records: OperationAuditRecord[]) {
      // Concurrent appends: the audit store's group commit makes them one durable batch.
      await Promise.all(records.map((r) => deps.audit.append(toAuditEvent(r))));
    },
    async settleOperation({ records, commits = [], releases = [] }) {
      // Concurrent: the audit store's and the quota store's group commits each make theirs one durable batch.
      await Promise.all([
        ...records.map((r) => deps.audit.append(toAuditEvent(r))),
        ...commits.map(({ reservationId, used }) => deps.quotas.commit(reservationId, used)),
        ...releases.map((reservationId) => deps.quotas.release(reservationId)),
      ]);
    },
    async notify(request: NotificationRequest) {
      return deps.notifiers.send(request);
    },
  };
}

function toAuditEvent(record: OperationAuditRecord): AuditEventInput {
  return {
    id: auditEventId(record.id),
    time: new Date(record.time),
    tenant: record.tenant,
    user: record.user,
    ...(record.sessionId !== undefined ? { sessionId: record.sessionId } : {}),
    server: record.server,
    method: record.method,
    target: record.target,
    decision: record.decision,
    policy: record.policy,
    rules: record.rules,
    configVersion: record.configVersion,
    intent: `${record.event}${record.intent ? `: ${record.intent}` : ''}`,
    outcome: record.outcome,
    ...(record.errorMessage !== undefined ? { errorMessage: record.errorMessage } : {}),
    durationMs: record.durationMs,
    requestBytes: record.requestBytes,
    responseBytes: record.responseBytes,
    ...(record.argsSummary !== undefined ? { argsSummary: record.argsSummary } : {}),
    ...(record.resultSummary !== undefined ? { resultSummary: record.resultSummary } : {}),
    operationId: record.operationId,
  };
}
