import { ApplicationFailure } from '@temporalio/common';
import {
  type AuditRetentionActivities,
  type GovernedOperationActivities,
  type HealthActivities,
} from '@atom-gov/contracts';
import { createGovernedOperationActivities, type GovernedOperationDeps } from './governed-operation.activities.js';
import { createHealthActivities, type HealthActivityDeps } from './health.activities.js';
import { createRetentionActivities, type RetentionDeps } from './retention.activities.js';

/** Everything activities may touch, injected so tests can hand in real services of their own. */
export type ActivityDeps = HealthActivityDeps & {
  /** Stores and notifiers of governed operations; without them governed operations fail closed. */
  governance?: GovernedOperationDeps;
  /** The audit store the daily retention purge works on; without it the purge fails (non-retryable). */
  retention?: RetentionDeps;
};

export type Activities = HealthActivities & GovernedOperationActivities & AuditRetentionActivities;

function notConfigured(): never {
  // Non-retryable: the workflow fails, and the gateway denies the call (fail closed).
  throw ApplicationFailure.create({
    type: 'GovernanceNotConfigured',
    nonRetryable: true,
    message: 'this worker has no audit/quota stores: start it with governance dependencies',
  });
}

/** The worker's activities: plain functions closed over their dependencies (Temporal's sample layout). */
export function createActivities(deps: ActivityDeps): Activities {
  const governed: GovernedOperationActivities = deps.governance
    ? createGovernedOperationActivities(deps.governance)
    : {
        reserveQuota: async () => notConfigured(),
        commitQuota: async () => notConfigured(),
        releaseQuota: async () => notConfigured(),
        recordAudit: async () => notConfigured(),
        recordAuditBatch: async () => notConfigured(),
        settleOperation: async () => notConfigured(),
        notify: async () => notConfigured(),
      };
  return { ...createHealthActivities(deps), ...governed, ...createRetentionActivities(deps.retention) };
}
