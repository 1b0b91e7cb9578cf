export { listProcesses, processTree, stillAlive, type ProcessInfo } from './process-tree.js';
export { temporalTestEnv, uniqueTaskQueue, type TemporalTestEnv } from './temporal-test-env.js';
export { loadTestConfig } from './test-config.js';
