export {
  type ApprovalLinkClaims,
  ApprovalLinkError,
  type ApprovalLinkProblem,
  ApprovalLinkSigner,
  loadLinkKey,
} from './approval-link.js';
export {
  type DecisionClient,
  type DecisionRefusal,
  DecisionRefusedError,
  temporalDecisionClient,
} from './decision-client.js';
export { EmailNotifier, type EmailNotifierOptions } from './email.notifier.js';
export {
  approvalRequestBlocks,
  approvalUpdateBlocks,
  type Block,
  escapeMrkdwn,
  outcomeHeadline,
  quotaAlertBlocks,
  rejectModalView,
  SLACK_APPROVE_ACTION,
  SLACK_REASON_BLOCK,
  SLACK_REASON_INPUT,
  SLACK_REJECT_ACTION,
  SLACK_REJECT_MODAL,
  type SlackButtonValue,
} from './slack-blocks.js';
export { createSlackClient, SlackChannelResolver, SlackNotifier } from './slack.notifier.js';
export { createNotifiers } from './notifiers.js';
export {
  type Alert,
  type AlertKind,
  AlertNotifier,
  type AlertNotifierOptions,
  type AlertStats,
} from './alert.notifier.js';
