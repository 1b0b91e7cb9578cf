import type { NotificationRequest, OperationState, Vote } from '@atom-gov/contracts';

export const SLACK_APPROVE_ACTION = 'atom_gov_approve';
export const SLACK_REJECT_ACTION = 'atom_gov_reject';
export const SLACK_REJECT_MODAL = 'atom_gov_reject_modal';
export const SLACK_REASON_BLOCK = 'reason';
export const SLACK_REASON_INPUT = 'reason_input';

/** What a button carries: the operation and the exact call the message showed. */
export interface SlackButtonValue {
  op: string;
  ah: string;
}

// Block Kit types kept structural: @slack/web-api accepts plain objects, and these stay serialisable for tests.
export type Block = Record<string, unknown>;

const md = (text: string) => ({ type: 'mrkdwn', text });
const plain = (text: string) => ({ type: 'plain_text', text, emoji: false });

/** Slack mrkdwn escaping (&, <, >) so argument text cannot form links or mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function votes(list: readonly Vote[]): string {
  return list.length === 0 ? 'none yet' : list.map((v) => `${escapeMrkdwn(v.approver)} (${v.channel})`).join(', ');
}

function contextFields(state: OperationState, requester?: string): Block[] {
  const deadline = state.deadline
    ? `<!date^${Math.floor(Date.parse(state.deadline) / 1000)}^{date_short_pretty} {time}|${state.deadline}>`
    : 'none';
  return [
    {
      type: 'section',
      fields: [
        md(`*Requested by*\n${escapeMrkdwn(requester ?? state.requesterRef)}`),
        md(`*Tool*\n\`${escapeMrkdwn(state.tool)}\``),
        md(`*Server*\n${escapeMrkdwn(state.server)}`),
        md(`*Policy*\n${escapeMrkdwn(state.policy)}`),
        md(`*Deadline*\n${deadline}`),
        md(`*Approvals*\n${state.approvals.length} of ${state.requiredApprovals}: ${votes(state.approvals)}`),
      ],
    },
    {
      type: 'section',
      text: md(`*Arguments* (redacted)\n\`\`\`${escapeMrkdwn(clip(state.redactedArgs, 2500))}\`\`\``),
    },
  ];
}

/** The approval request: context and Approve / Reject buttons (Reject opens a modal asking for a reason). */
export function approvalRequestBlocks(state: OperationState, opts: { requester?: string } = {}): Block[] {
  const value = JSON.stringify({ op: state.operationId, ah: state.argsHash } satisfies SlackButtonValue);
  return [
    {
      type: 'header',
      text: plain(clip(`Approval needed: ${state.tool} on ${state.server}`, 150)),
    },
    ...contextFields(state, opts.requester),
    {
      type: 'actions',
      block_id: 'decision',
      elements: [
        { type: 'button', action_id: SLACK_APPROVE_ACTION, style: 'primary', text: plain('Approve'), value },
        { type: 'button', action_id: SLACK_REJECT_ACTION, style: 'danger', text: plain('Reject'), value },
      ],
    },
    { type: 'context', elements: [md(`Operation \`${state.operationId}\` · tenant ${escapeMrkdwn(state.tenant)}`)] },
  ];
}

/** Headline for an operation's current state ("Approved (2 of 2)", "Rejected by bob: freeze"). */
export function outcomeHeadline(state: OperationState): string {
  if (state.decision === 'allow') return `:white_check_mark: Approved${state.message ? `: ${state.message}` : ''}`;
  if (state.decision === 'deny') return `:no_entry: Denied${state.message ? `: ${state.message}` : ''}`;
  if (state.closed) return `Closed (${state.status})`;
  return `:hourglass_flowing_sand: Waiting: ${state.approvals.length} of ${state.requiredApprovals} approvals`;
}

/**
 * The message after a click: the same context, the outcome instead of the buttons while the operation is decided,
 * the buttons kept while more approvals are needed, and an optional note (e.g. a refused duplicate click).
 */
export function approvalUpdateBlocks(state: OperationState, opts: { requester?: string; note?: string } = {}): Block[] {
  const decided = state.decision !== undefined || state.closed;
  const blocks = decided
    ? [
        { type: 'header', text: plain(clip(`${state.tool} on ${state.server}`, 150)) },
        ...contextFields(state, opts.requester),
      ]
    : approvalRequestBlocks(state, opts).slice(0, -1);
  blocks.push({
    type: 'section',
    block_id: 'outcome',
    text: md(escapeMrkdwn(outcomeHeadline(state)).replace(/&amp;/g, '&')),
  });
  if (opts.note) blocks.push({ type: 'context', block_id: 'note', elements: [md(escapeMrkdwn(opts.note))] });
  blocks.push({
    type: 'context',
    elements: [md(`Operation \`${state.operationId}\` · tenant ${escapeMrkdwn(state.tenant)}`)],
  });
  return blocks;
}

/** The modal Reject opens: a required reason; the operation and message ride in private_metadata. */
export function rejectModalView(meta: {
  op: string;
  ah: string;
  channel?: string;
  ts?: string;
}): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: SLACK_REJECT_MODAL,
    private_metadata: JSON.stringify(meta),
    title: plain('Reject operation'),
    submit: plain('Reject'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: md(`Rejecting \`${meta.op}\` ends the operation for everyone.`) },
      {
        type: 'input',
        block_id: SLACK_REASON_BLOCK,
        label: plain('Reason'),
        element: { type: 'plain_text_input', action_id: SLACK_REASON_INPUT, multiline: true, max_length: 500 },
      },
    ],
  };
}

/** A quota alert (the seed's `notification: slack://ops-channel` on a quota rule): usage per reserved resource. */
export function quotaAlertBlocks(request: Pick<NotificationRequest, 'state' | 'text'>): Block[] {
  const { state } = request;
  const lines = state.quotas.map(
    (q) =>
      `• *${escapeMrkdwn(q.resource)}* (${escapeMrkdwn(q.rule)}): ${q.used} of ${q.limit}` +
      `${q.limit > 0 ? ` (${Math.round((q.used / q.limit) * 100)}%)` : ''}${q.overLimit ? ' *over the limit*' : ''}`,
  );
  return [
    { type: 'header', text: plain(clip(`Quota alert: ${state.server}`, 150)) },
    { type: 'section', text: md(escapeMrkdwn(request.text)) },
    ...(lines.length ? [{ type: 'section', text: md(lines.join('\n')) }] : []),
    {
      type: 'context',
      elements: [
        md(
          `Tenant ${escapeMrkdwn(state.tenant)} · \`${escapeMrkdwn(state.tool)}\` · operation \`${state.operationId}\``,
        ),
      ],
    },
  ];
}
