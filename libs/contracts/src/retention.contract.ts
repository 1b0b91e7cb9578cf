/** Input of the audit retention workflow, fixed in the schedule's action (updated when the config changes). */
export interface AuditRetentionInput {
  /** Events older than this many calendar days (before local midnight) are purged. */
  retentionDays: number;
  /** IANA zone whose midnight is the cut-off. */
  timeZone: string;
}

export interface AuditRetentionActivityInput extends AuditRetentionInput {
  /** The run's time (ISO 8601): the cut-off counts back from here, so a retried activity purges the same range. */
  now: string;
}

export interface AuditRetentionResult {
  /** ISO 8601 instant: events before it were purged. */
  cutoff: string;
  /** Per tenant: events deleted and the first seq that remains (a signed retention checkpoint marks it). */
  tenants: Array<{ tenant: string; deleted: number; startSeq: number }>;
}

export interface AuditRetentionActivities {
  purgeExpiredAudit(input: AuditRetentionActivityInput): Promise<AuditRetentionResult>;
}

/** Workflow type name of the retention run (the function exported by @atom-gov/workflows). */
export const AUDIT_RETENTION_WORKFLOW = 'auditRetention';

/** Schedule id per task queue: each deployment (task queue) has one daily retention schedule. */
export function auditRetentionScheduleId(taskQueue: string): string {
  return `atom-gov-audit-retention-${taskQueue}`;
}
