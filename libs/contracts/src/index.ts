export { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './task-queues.js';
export {
  devServerSearchAttributeArgs,
  SEARCH_ATTRIBUTES,
  searchAttributeKeys,
  type SearchAttributeDefinition,
  type SearchAttributeTypeName,
} from './search-attributes.js';
export {
  HEALTH_PROBE_ID_PREFIX,
  HEALTH_PROBE_WORKFLOW,
  type HealthActivities,
  type WorkerHealthReport,
} from './health.contract.js';
