import { ApplicationFailure } from '@temporalio/common';
import { type AuditStore, retentionCutoff } from '@atom-gov/audit';
import {
  type AuditRetentionActivities,
  type AuditRetentionActivityInput,
  type AuditRetentionResult,
} from '@atom-gov/contracts';

export interface RetentionDeps {
  audit: Pick<AuditStore, 'purge'>;
}

export function createRetentionActivities(deps: RetentionDeps | undefined): AuditRetentionActivities {
  return {
    async purgeExpiredAudit(input: AuditRetentionActivityInput): Promise<AuditRetentionResult> {
      if (!deps) {
        throw ApplicationFailure.create({
          type: 'RetentionNotConfigured',
          nonRetryable: true,
          message: 'this worker has no audit store to purge: start it with its own database access',
        });
      }
      let cutoff: Date;
      try {
        cutoff = retentionCutoff(new Date(input.now), input.retentionDays, input.timeZone);
      } catch (error) {
        // A bad retention setting does not get better by retrying.
        throw ApplicationFailure.create({
          type: 'InvalidRetention',
          nonRetryable: true,
          message: (error as Error).message,
        });
      }
      const purged = await deps.audit.purge(cutoff);
      return {
        cutoff: cutoff.toISOString(),
        tenants: purged.map(({ tenant, deleted, startSeq }) => ({ tenant, deleted, startSeq })),
      };
    },
  };
}
