// The typed, normalised model every other package consumes. Raw YAML shapes live in schema.ts;
// these are the shapes after defaults, `~`/`${VAR}` expansion and value parsing.
import type { ConfigIssue } from './errors.js';
import type { TelemetryConfig } from './telemetry.js';

export type Enforcement = 'hard' | 'soft' | 'warn';
export type AuditLevel = 'full' | 'summary' | 'none';
export type Transport = 'stdio' | 'streamable_http' | 'sse';
export type Period = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month';

/** A parsed rate such as `100/hour`. */
export interface Rate {
  limit: number;
  period: Period;
  periodMs: number;
}

/** A quota amount: either a count per period (`10000/month`) or a plain amount (`storage_gb: 100`). */
export interface QuotaAmount {
  limit: number;
  period?: Period;
  periodMs?: number;
  /** The named level it came from (`high_usage`), when it came from the level table. */
  level?: string;
}

/** Where a rule or server came from, for messages and audit records. */
export interface SourceRef {
  file: string;
  line: number;
  column: number;
  /** YAML path inside the file, e.g. `policy.action.rate_limit`. */
  path: string;
}

export type Scope = 'user' | 'tenant' | 'server' | 'global';

export interface TimeWindow {
  /** Lower-case three-letter weekday names; empty means every day. */
  days: Array<'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'>;
  /** Minutes after midnight, start inclusive, end exclusive; end < start wraps past midnight. */
  startMinute: number;
  endMinute: number;
  /** IANA time zone; UTC by default. */
  timezone: string;
  /** Local dates in `timezone`, inclusive (`YYYY-MM-DD`); when set, the window holds only on these dates. */
  dates?: Array<{ from: string; to: string }>;
}

/** Key parts of a rate limit written as a combination (`per: [user, tool]`). */
export type RateKey = 'tenant' | 'user' | 'server' | 'tool';

export interface PolicyTrigger {
  /** Server names the rule applies to, or '*' for every server (`all`, `all_servers`). */
  servers: '*' | string[];
  /** Operation globs (`research.*`, `workers.deploy`), or '*' for every operation (`all`). */
  operations: '*' | string[];
  /** Named operation group (`production_writes`) from an `mcp_policy:` document, if any. */
  operationGroup?: string;
  /** Resource globs (`*-prod-*`) matched against the tool's resource argument / resource URI. */
  resourcePatterns: string[];
  tenants: '*' | string[];
  users: '*' | string[];
  roles: '*' | string[];
  /** Only active within this window, when set. */
  time?: TimeWindow;
}

export interface RequireApprovalAction {
  type: 'require_approval';
  approvers: string[];
  minApprovals: number;
  timeoutMs: number;
  onTimeout: 'deny' | 'allow';
  /** wait (default): the call waits for the decision; defer: it answers at once and is repeated once approved. */
  approvalMode: 'wait' | 'defer';
  escalation?: { afterMs: number; approvers: string[] };
  reminderEveryMs?: number;
}

export interface RateLimitAction {
  type: 'rate_limit';
  rate: Rate;
  /** One scope (`per: user`) or a combination of key parts (`per: [user, tool]`). */
  per: Scope | RateKey[];
  burst: number;
  onExceeded: 'block' | 'warn';
  window: 'sliding' | 'fixed';
  /** Fraction (0..1] of the limit at which to alert, when set. */
  alertThreshold?: number;
}

export interface QuotaAction {
  type: 'quota';
  /** What is counted: `api_calls` (default), or a resource name such as `storage_gb`. */
  resource: string;
  amount: QuotaAmount;
  per: Scope;
  enforcement: Enforcement;
  /** Fraction (0..1] of the quota at which to alert. */
  alertThreshold?: number;
}

export interface PiiDetectionAction {
  type: 'pii_detection';
  enabled: boolean;
  redact: boolean;
  patterns: string[];
}

export interface DenyAction {
  type: 'deny';
  message?: string;
}

export interface TenantIsolationAction {
  type: 'tenant_isolation';
  isolation: 'strict' | 'shared';
}

export interface LocalOnlyAction {
  type: 'local_only';
}

/** `access_hours:` calls are allowed only inside the window (outside it they are denied). */
export interface AccessHoursAction {
  type: 'access_hours';
  window: TimeWindow;
}

/** `tools: {allow, deny}`: name globs; a name not on a given allow-list, or on the deny-list, is neither listed nor callable. */
export interface ToolVisibilityAction {
  type: 'tool_visibility';
  /** Undefined: no allow-list (everything not denied is visible). */
  allow?: string[];
  deny: string[];
}

export type PolicyAction =
  | RequireApprovalAction
  | RateLimitAction
  | QuotaAction
  | PiiDetectionAction
  | DenyAction
  | TenantIsolationAction
  | LocalOnlyAction
  | AccessHoursAction
  | ToolVisibilityAction;

export type NotificationTarget =
  | { kind: 'slack'; channel: string; uri: string }
  | { kind: 'email'; address: string; uri: string }
  | { kind: 'webhook'; url: string; uri: string };

export interface AuditObligations {
  /** Unset means "the server's audit level". */
  logLevel?: AuditLevel;
  logAllOperations: boolean;
  notifications: NotificationTarget[];
  alertOnLimit: boolean;
  alertOnPii: boolean;
  resourceTracking: boolean;
  reporting?: 'daily' | 'weekly' | 'monthly';
  logRedacted: boolean;
  retentionDays?: number;
  encryptLogs?: boolean;
  piiDetection?: boolean;
}

export interface PolicyRule {
  /** Unique across the configuration. */
  name: string;
  description?: string;
  /** Which YAML form produced it. */
  kind: 'policy' | 'mcp_policy' | 'server';
  source: SourceRef;
  enabled: boolean;
  trigger: PolicyTrigger;
  actions: PolicyAction[];
  audit: AuditObligations;
  enforcement: Enforcement;
}

/** One entry of a server's `policies:` list (the seed's single-key form), normalised. */
export type ServerPolicy =
  | { kind: 'rate_limit'; rate: Rate }
  | { kind: 'require_approval'; operationGroup: string }
  | { kind: 'resource_limit'; amount: QuotaAmount }
  | { kind: 'audit_level'; level: AuditLevel }
  | { kind: 'local_only'; value: boolean }
  | { kind: 'pii_detection'; value: boolean };

/** The `policies:` definitions block: defaults the rules inherit. */
export interface PolicyDefinitions {
  rateLimit: { type: string; window: 'sliding' | 'fixed'; enforcement: Enforcement };
  requireApproval: {
    type: string;
    minApprovals: number;
    timeoutMs: number;
    fallback: 'deny' | 'allow';
    approvalMode: 'wait' | 'defer';
  };
  resourceLimit: { type: string; enforcement: Enforcement; alertThreshold: number };
  piiDetection: { patterns: string[]; redact: boolean };
}

export interface LaunchConfig {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  port: number | 'auto';
}

export interface ServerConfig {
  name: string;
  transport: Transport;
  command?: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  url?: string;
  headers: Record<string, string>;
  launch?: LaunchConfig;
  share: boolean;
  localOnly: boolean;
  auditLevel: AuditLevel;
  policies: ServerPolicy[];
  /** Directories the launcher must create before starting the server (e.g. a filesystem sandbox). */
  createDirs: string[];
  source: SourceRef;
}

export interface ApiKeyConfig {
  name?: string;
  sha256: string;
  tenant: string;
  user: string;
  roles: string[];
}

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  pass?: string;
}

export interface SlackConfig {
  botToken?: string;
  signingSecret?: string;
  /** xapp-... token: Socket Mode for deployments without a public URL. */
  appToken?: string;
  socketMode: boolean;
  /** HTTP receiver of the slackbot (POST /slack/events). */
  host: string;
  port: number;
  /** Slack Web API base URL (default https://slack.com/api/). */
  apiUrl?: string;
  /** Channel names (as in slack://ops-channel) to channel ids. */
  channels: Record<string, string>;
  /** Slack user ids to approver identities. */
  users: Record<string, string>;
}

export interface NotificationsConfig {
  /** Base URL of approval links (default: gateway.publicUrl). */
  publicUrl: string;
  from: string;
  /** Absent: emails are written as .eml files into outboxDir and their links logged. */
  smtp?: SmtpConfig;
  outboxDir: string;
  /** HMAC key for approval links; absent: generated into linkKeyFile. */
  linkSecret?: string;
  linkKeyFile: string;
  slack: SlackConfig;
}

export interface LevelTable {
  /** Named quota amounts (`high` -> 50000/month). */
  quota: Record<string, QuotaAmount>;
  /** Named thresholds as fractions (`high_utilization` -> 0.9). */
  threshold: Record<string, number>;
}

/** Prices of one server or tool; every field in the config's currency. */
export interface CostRates {
  perCall: number;
  perSecond: number;
  /** Per 1024 bytes of request plus response. */
  perKb: number;
  /** Per unit the tool reports (`_meta.cost_units` / `costUnits` of its result). */
  perUnit: number;
}

/** The `costs:` block: chargeback rates per server and tool, and per-tenant budgets. */
export interface CostModel {
  currency: string;
  /** Rates of servers the block does not list. */
  default: CostRates;
  /** Tool keys are names or globs with `*`; tool rates already include the server's as fallback. */
  servers: Record<string, { rates: CostRates; tools: Record<string, CostRates> }>;
  budgets: Record<string, { amount: number; period: 'day' | 'week' | 'month'; alertThreshold?: number }>;
}

/** The `export:` block. */
export interface ExportSettings {
  /** Absolute paths of OpenPGP public key files used by `atom-gov export --encrypt` without `--recipient`. */
  recipients: string[];
}

export interface AtomGovConfig {
  /** sha256 hex over the normalised config and policy files: the "config version" in audit records. */
  version: string;
  /** The `version:` the file declares (e.g. `1.0.0`). */
  declaredVersion: string;
  configPath: string;
  baseDir: string;
  /** Every file that contributed: the main config first, then policy files in order. */
  files: string[];
  dataDir: string;
  global: { mode: 'proxy' | 'wrapper' | 'inline'; audit: boolean; encryption: boolean; enforcement: Enforcement };
  gateway: {
    host: string;
    port: number;
    publicUrl: string;
    allowUnauthenticated: boolean;
    anonymous: { tenant: string; user: string; roles: string[] };
    allowedOrigins: string[];
    allowedHosts: string[];
    maxBodyBytes: number;
    /** `gateway.aggregate`: serve `/mcp`, one endpoint for every server the caller may use. Default false. */
    aggregate: boolean;
    apiKeys: ApiKeyConfig[];
  };
  temporal: {
    address?: string;
    namespace: string;
    taskQueue: string;
    devServer: { port: number; uiPort: number; headless: boolean };
  };
  database: { url?: string; sqlitePath: string };
  redis: { url?: string };
  /** Tool pinning: `tofu` pins on first use, `strict` blocks whatever `atom-gov tools pin` did not record. */
  pinning: { mode: 'tofu' | 'strict' | 'off'; lockFile: string };
  notifications: NotificationsConfig;
  servers: ServerConfig[];
  policies: PolicyDefinitions;
  rules: PolicyRule[];
  operationGroups: Record<string, string[]>;
  levels: LevelTable;
  audit: {
    backend: string;
    trailFile?: string;
    encrypt: boolean;
    piiRedaction: boolean;
    retentionDays: number;
    /** Ed25519 checkpoint key (PEM); default <dataDir>/audit-signing-key.pem, generated on first use. */
    signingKey: string;
    /** Append-only JSONL mirror of the signed checkpoints. */
    checkpointFile?: string;
    /** IANA zone whose midnight is the retention cut-off (default UTC). */
    timeZone: string;
  };
  tenants: {
    enabled: boolean;
    isolation: 'strict' | 'shared';
    quotas: Record<string, Record<string, QuotaAmount>>;
  };
  costs: CostModel;
  export: ExportSettings;
  /** OpenTelemetry trace export (`telemetry:`). */
  telemetry: TelemetryConfig;
  /** Non-fatal findings (e.g. a `path:` that does not exist yet). */
  warnings: ConfigIssue[];
}
