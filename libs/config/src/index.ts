export { ConfigError, type ConfigIssue, formatIssues } from './errors.js';
export { loadConfig, loadConfigSync } from './loader.js';
export {
  DEFAULT_CONFIG_PATH,
  DEFAULT_DATA_DIR,
  expandHome,
  readEnv,
  resolveRuntime,
  type RuntimeOptions,
  type RuntimeSettings,
} from './runtime.js';
export type {
  ApiKeyConfig,
  AtomGovConfig,
  AuditLevel,
  AuditObligations,
  DenyAction,
  Enforcement,
  LaunchConfig,
  LevelTable,
  LocalOnlyAction,
  NotificationTarget,
  Period,
  PiiDetectionAction,
  PolicyAction,
  PolicyDefinitions,
  PolicyRule,
  PolicyTrigger,
  QuotaAction,
  QuotaAmount,
  Rate,
  RateLimitAction,
  RequireApprovalAction,
  Scope,
  ServerConfig,
  ServerPolicy,
  SourceRef,
  TenantIsolationAction,
  TimeWindow,
  Transport,
} from './types.js';
export { DEFAULT_LEVELS, PERIOD_MS, parseDuration, parsePercent, parseQuotaAmount, parseRate } from './values.js';
export { type CheckResult, checkConfig, displayPath } from './check.js';
export { STARTER_CONFIG, StarterExistsError, writeStarterConfig } from './starter.js';
