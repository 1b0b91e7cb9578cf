import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import {
  type AuditRetentionActivities,
  type AuditRetentionInput,
  type AuditRetentionResult,
} from '@atom-gov/contracts';

// A purge of years of events can take a while; retried, it purges the same range (the cut-off comes from the
// run's start time, not from the clock at each attempt).
const { purgeExpiredAudit } = proxyActivities<AuditRetentionActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', maximumAttempts: 10 },
});

/** Run daily by the retention schedule: purges audit events older than `retentionDays` with a signed checkpoint. */
export async function auditRetention(input: AuditRetentionInput): Promise<AuditRetentionResult> {
  return purgeExpiredAudit({ ...input, now: workflowInfo().runStartTime.toISOString() });
}
