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
