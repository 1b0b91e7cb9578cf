export {
  argsHash,
  GovernanceClient,
  GovernanceError,
  operationRequestKey,
  toGovernanceError,
  type GovernanceClientOptions,
  type GovernanceErrorCode,
  type PendingOperation,
} from './governance-client.service.js';
export {
  denialText,
  measuredUsage,
  progressText,
  resultBytes,
  runGovernedCall,
  type CallResult,
  type GovernedCallOptions,
  type GovernedCallOutcome,
} from './governed-call.js';
export { TemporalConnection, type TemporalConnectionOptions } from './temporal-connection.js';
