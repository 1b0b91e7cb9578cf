export {
  createSlackApprovals,
  type RunningSlackbot,
  type SlackbotOptions,
  startSlackbot,
} from './slack-approvals.app.js';
