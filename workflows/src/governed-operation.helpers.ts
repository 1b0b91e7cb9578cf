// Pure helpers of the governed-operation workflow (deterministic; unit-tested without Temporal).
import {
  DEFAULT_APPROVER_ROLE,
  type ApprovalParams,
  type DecideInput,
  type NotificationKind,
  type OperationOutcome,
  type OperationState,
} from '@atom-gov/contracts';

/** One spelling per identity: `mailto:Alice@Company.com ` and `alice@company.com` are the same approver. */
export function canonicalIdentity(value: string): string {
  return value
    .trim()
    .replace(/^mailto:/i, '')
    .toLowerCase();
}

/**
 * May this identity decide? Listed address or Slack user (`slack:U0123`, matched against the approver or the
 * Slack user the channel verified in `via`), a listed `group:<name>` the channel verified, or, when the rule lists
 * nobody, the approver role.
 */
export function isAllowedApprover(
  approverId: string,
  vote: Pick<DecideInput, 'groups' | 'roles' | 'via'>,
  approvers: readonly string[],
  approval: Pick<ApprovalParams, 'approvers' | 'approverRole'>,
): boolean {
  const listed = new Set(approvers.map(canonicalIdentity));
  const ids = [approverId];
  if (vote.via !== undefined && /^slack:/i.test(vote.via)) ids.push(canonicalIdentity(vote.via));
  if (ids.some((id) => listed.has(id))) return true;
  if ((vote.groups ?? []).some((g) => listed.has(canonicalIdentity(`group:${g}`)))) return true;
  if (approval.approvers.length === 0) {
    return (vote.roles ?? []).includes(approval.approverRole ?? DEFAULT_APPROVER_ROLE);
  }
  return false;
}

function remaining(state: OperationState): string {
  return `${state.approvals.length} of ${state.requiredApprovals} approvals`;
}

/** Markdown for the Temporal UI's current details: what an incident reviewer needs at a glance. */
export function describeState(state: OperationState): string {
  const lines = [
    `**${state.status}**${state.message ? `: ${state.message}` : ''}`,
    `- call: \`${state.server}\` / \`${state.tool}\` args ${state.redactedArgs}`,
    `- tenant: ${state.tenant}, requester ${state.requesterRef}, policy ${state.policy}`,
  ];
  if (state.approvalRequired) {
    lines.push(
      `- approvals: ${remaining(state)}, deadline ${state.deadline ?? '-'}${state.escalated ? ', escalated' : ''}`,
    );
    for (const v of [...state.approvals, ...state.rejections]) {
      lines.push(`  - ${v.decision} by ${v.approver} via ${v.channel} at ${v.at}${v.reason ? `: ${v.reason}` : ''}`);
    }
  }
  for (const q of state.quotas) {
    lines.push(
      `- quota ${q.resource} (${q.rule}): ${q.status}, ${q.used}/${q.limit}${q.overLimit ? ' (over, soft)' : ''}`,
    );
  }
  return lines.join('\n');
}

/** Plain text for channels without rich rendering. */
export function notificationText(kind: NotificationKind, state: OperationState): string {
  const call = `${state.tool} on ${state.server} (tenant ${state.tenant}, policy ${state.policy})`;
  switch (kind) {
    case 'approval_requested':
      return `Approval requested for ${call}: ${remaining(state)} needed by ${state.deadline ?? '-'}. Operation ${state.operationId}.`;
    case 'approval_reminder':
      return `Reminder: ${call} is waiting for approval (${remaining(state)}), deadline ${state.deadline ?? '-'}. Operation ${state.operationId}.`;
    case 'approval_escalated':
      return `Escalated: ${call} still needs approval (${remaining(state)}), deadline ${state.deadline ?? '-'}. Operation ${state.operationId}.`;
    case 'operation_decided':
      return `${state.decision === 'allow' ? 'Allowed' : 'Denied'}: ${call}: ${state.message ?? ''}. Operation ${state.operationId}.`;
    case 'quota_alert': {
      const q = state.quotas.map((x) => `${x.resource} ${x.used}/${x.limit}`).join(', ');
      return `Quota alert for ${call}: ${q}. Operation ${state.operationId}.`;
    }
  }
}

export function outcomeMessage(outcome: OperationOutcome): string {
  if (outcome.status === 'succeeded') return 'call succeeded';
  if (outcome.status === 'cancelled') return 'call cancelled by the caller';
  return `call failed${outcome.errorMessage ? `: ${outcome.errorMessage}` : ''}`;
}
