export {
  DevServerError,
  FAST_DISPATCH_CONFIG,
  startDevServer,
  type DevServer,
  type DevServerOptions,
} from './dev-server.js';
export { freePort } from './free-port.js';
export { ensureSearchAttributes, searchAttributeCommand } from './search-attributes.js';
export { ensureTemporalCli, ensureTemporalScript, type EnsureTemporalCliOptions } from './temporal-cli.js';
export { type OrphanWatchdog, watchParent } from './orphan-watchdog.js';
