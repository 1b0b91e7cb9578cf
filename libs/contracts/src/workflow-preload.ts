// Stateless dependencies of the workflow code, evaluated once per workflow thread instead of once per workflow
// (the worker's bundlerOptions.preloadModules: WorkflowsSource.preloadModules in @atom-gov/worker). Re-exported rather than
// imported for effect: @noble/hashes is flagged side-effect free, so webpack drops a bare require of it.
// Nothing here may hold per-workflow state: preloaded modules are shared by every workflow of the thread.
export { sha256 } from '@noble/hashes/sha2.js';
export { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
