// The decision engine's inputs and outputs: what the gateway passes in and what it must enforce.
import type { AuditLevel, Enforcement, NotificationTarget, QuotaAmount, Scope } from '@atom-gov/config';
import type { RateLimitSpec } from '@atom-gov/limits';

/** One MCP operation as the gateway sees it. */
export interface DecisionContext {
  tenant: string;
  user: string;
  roles: readonly string[];
  server: string;
  /** MCP method, e.g. `tools/call`, `resources/read`, `prompts/get`. */
  method: string;
  /** Tool or prompt name, or resource URI; undefined for methods without a target. */
  name?: string;
  /** Tool/prompt arguments; every string value (deep) is matched against `resource_pattern`. */
  args?: unknown;
  /** Resource URIs the operation touches (also matched against `resource_pattern`). */
  resourceUris?: readonly string[];
  transport: 'http' | 'stdio';
  /** The caller is on this host (stdio bridge or a loopback address). */
  local: boolean;
  time: Date;
}

export type Effect = 'allow' | 'deny' | 'governed';

/** Why a rule took part in a decision. */
export interface RuleMatch {
  rule: string;
  /** What the rule contributed: a denial, a grant from a tool allow-list, governance, or an obligation. */
  effect: 'deny' | 'allow' | 'governed' | 'obligation' | 'would-deny';
  /** Human text: which trigger parts matched and what the rule does. */
  why: string;
}

/** A denial that shadow mode (`enforcement: warn` or `soft`) turned into an allow: audit it and alert on it. */
export interface WouldDeny {
  rule: string;
  reason: string;
  enforcement: 'soft' | 'warn';
}

/** A rate limit to check with @atom-gov/limits, plus the alerting the rule asked for. */
export interface RateLimitObligation {
  rule: string;
  spec: RateLimitSpec;
  alertOnLimit: boolean;
  /** Fraction of the limit at which to alert, when set. */
  alertThreshold?: number;
}

export interface PiiObligation {
  /** Rules that asked for it. */
  rules: string[];
  /** Options for @atom-gov/pii `createPiiScanner` (kinds and action). */
  scanner: { kinds: string[]; action: 'redact' | 'alert' };
  logRedacted: boolean;
  alertOnPii: boolean;
}

export interface Obligations {
  rateLimits: RateLimitObligation[];
  /** Undefined: no PII scanning asked for. */
  pii?: PiiObligation;
  auditLevel: AuditLevel;
  /** Check tool/prompt/resource definitions against their pinned hashes (rug-pull defence). */
  pinCheck: boolean;
  /** Where to send alerts (`notification:` of matched rules) and which events alert. */
  alerts: { targets: NotificationTarget[]; onLimit: boolean; onPii: boolean; onWouldDeny: boolean };
  /** Set when a tenants block asks for isolation: upstream sessions must never be shared across tenants. */
  tenantIsolation?: 'strict' | 'shared';
  /** The rule asked for resource tracking (costs / usage reports). */
  resourceTracking: boolean;
}

export interface ApprovalRequirement {
  rule: string;
  /** Approver addresses; empty means anyone holding the `approver` role. */
  approvers: string[];
  minApprovals: number;
  timeoutMs: number;
  onTimeout: 'deny' | 'allow';
  approvalMode?: 'wait' | 'defer';
  escalation?: { afterMs: number; approvers: string[] };
  reminderEveryMs?: number;
}

export interface QuotaRequirement {
  rule: string;
  resource: string;
  amount: QuotaAmount;
  per: Scope;
  enforcement: Enforcement;
  alertThreshold?: number;
}

export interface Decision {
  effect: Effect;
  /** For deny: why, in words ("outside allowed hours Mon-Fri 09:00-18:00 Europe/Berlin"). */
  reason?: string;
  /** The rule that decided (for the audit record's `policy`), when one did. */
  policy?: string;
  /** Names of the rules that produced the decision (deny: the denying rules; else every matched rule). */
  rules: string[];
  /** The same rules with why. */
  matches: RuleMatch[];
  /**
   * Denied by tool visibility (allow/deny lists): the tool is not listed, and calling it must look exactly like
   * calling a tool that does not exist.
   */
  hidden?: boolean;
  /** For deny: what would allow the call ("ask for the role admin", "call between ..."). */
  remedy?: string;
  obligations: Obligations;
  governed?: { approval?: ApprovalRequirement; quotas: QuotaRequirement[] };
  wouldDeny: WouldDeny[];
  /** hard: the decision is enforced as is; soft/warn: shadow-mode denials were turned into allows. */
  enforcement: Enforcement;
  configVersion: string;
}

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

/** Per-rule verdict for `explain`: matched (with why) or not (with the first reason it did not). */
export interface RuleExplanation {
  rule: string;
  source: string;
  matched: boolean;
  why: string;
}

export interface Explanation {
  decision: Decision;
  rules: RuleExplanation[];
}
