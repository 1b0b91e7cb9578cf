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
  AccessHoursAction,
  ApiKeyConfig,
  AtomGovConfig,
  AuditLevel,
  AuditObligations,
  CostModel,
  CostRates,
  DenyAction,
  Enforcement,
  ExportSettings,
  LaunchConfig,
  LevelTable,
  LocalOnlyAction,
  NotificationsConfig,
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
  RateKey,
  RateLimitAction,
  RequireApprovalAction,
  Scope,
  ServerConfig,
  ServerPolicy,
  SlackConfig,
  SmtpConfig,
  SourceRef,
  TenantIsolationAction,
  TimeWindow,
  ToolVisibilityAction,
  Transport,
} from './types.js';
export { OTLP_PROTOCOLS, type OtlpProtocol, otlpTracesUrl, type TelemetryConfig } from './telemetry.js';
export { DEFAULT_LEVELS, PERIOD_MS, parseDuration, parsePercent, parseQuotaAmount, parseRate } from './values.js';
export { type CheckResult, checkConfig, displayPath } from './check.js';
export { STARTER_CONFIG, StarterExistsError, writeStarterConfig } from './starter.js';
export {
  loadPolicyTestFile,
  policyTestFileSchema,
  type PolicyTestCase,
  type PolicyTestFile,
  type RawPolicyTestFile,
} from './policy-tests.js';
