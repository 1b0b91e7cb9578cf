export {
  createSlackApprovals,
  type RunningSlackbot,
  type SlackbotOptions,
  startSlackbot,
} from './slack-approvals.app.js';
export { startSlackbotFromConfig } from './slackbot.js';
