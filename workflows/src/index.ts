// Every workflow the worker registers: the worker's workflowsPath points at this module.
export { healthProbe } from './health-probe.workflow.js';
