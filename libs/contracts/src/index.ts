export { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './task-queues.js';
export {
  devServerSearchAttributeArgs,
  SEARCH_ATTRIBUTES,
  searchAttributeKeys,
  type SearchAttributeDefinition,
  type SearchAttributeTypeName,
} from './search-attributes.js';
