export { createActivities, type Activities, type ActivityDeps } from './create-activities.js';
export { startWorker, type RunningWorker, type StartWorkerOptions } from './worker.js';
export { workflowsSource, type WorkflowsSource } from './workflows-source.js';
export { cachedWorkflowBundle } from './workflow-bundle-cache.js';
export {
  auditEventId,
  createGovernedOperationActivities,
  quotaCounterKey,
  type GovernedOperationDeps,
} from './governed-operation.activities.js';
export { NotifierRegistry, targetScheme } from './notifier-registry.js';
