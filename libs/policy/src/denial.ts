// Denials the assistant can act on: the policy, the reason and what would allow the call.
import type { Decision, RateLimitObligation } from './policy.types.js';

/**
 * "Denied by policy business_hours: outside allowed hours Mon-Fri 09:00-18:00 Europe/Berlin; call again within …".
 * For a rate-limit hit pass the obligation and the message @atom-gov/limits returned at run time:
 * "Denied by policy research_rate_limit: rate limit 100/hour per user exceeded; retry after 12 min".
 */
export function denialMessage(
  decision: Pick<Decision, 'effect' | 'policy' | 'reason' | 'remedy'>,
  rateLimit?: { obligation: Pick<RateLimitObligation, 'rule'>; message: string },
): string {
  if (rateLimit) return `Denied by policy ${rateLimit.obligation.rule}: ${rateLimit.message}`;
  if (decision.effect !== 'deny') return '';
  const policy = decision.policy ? ` ${decision.policy}` : '';
  const remedy = decision.remedy ? `; ${decision.remedy}` : '';
  return `Denied by policy${policy}: ${decision.reason ?? 'not allowed'}${remedy}`;
}
