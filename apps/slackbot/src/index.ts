export {
  createSlackApprovals,
  type RunningSlackbot,
  type SlackbotOptions,
  startSlackbot,
} from './slack-approvals.app.js';
export { type SlackRefusalAudit } from './slack-refusals.js';
export { startSlackbotFromConfig } from './slackbot.js';
