// Process-wide governance counters, kept as plain numbers (cheap on the fast path); the metrics endpoint
// (issue 6) exports them.
export interface GovernanceMetrics {
  /** Successful hot reloads that swapped in a new policy version. */
  policyReloads: number;
  /** Reloads rejected (invalid file): the running policy was kept. */
  policyReloadFailures: number;
  /** Config version of the running policy. */
  policyVersion: string;
  decisions: { allow: number; deny: number; governed: number };
  rateLimited: number;
  /** soft/warn rate-limit hits and shadow-mode denials that were allowed. */
  wouldDeny: number;
  piiFindings: number;
  piiBlocked: number;
}

export const governanceMetrics: GovernanceMetrics = {
  policyReloads: 0,
  policyReloadFailures: 0,
  policyVersion: '',
  decisions: { allow: 0, deny: 0, governed: 0 },
  rateLimited: 0,
  wouldDeny: 0,
  piiFindings: 0,
  piiBlocked: 0,
};
