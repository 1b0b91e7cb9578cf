export { listProcesses, processTree, stillAlive, type ProcessInfo } from './process-tree.js';
export { temporalTestEnv, uniqueTaskQueue, type TemporalTestEnv } from './temporal-test-env.js';
