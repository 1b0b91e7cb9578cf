// Every workflow the worker registers: the worker's workflowsPath points at this module.
export { governedOperation } from './governed-operation.workflow.js';
export { healthProbe } from './health-probe.workflow.js';
export { auditRetention } from './retention.workflow.js';
