// Every policy form of the seed -> PolicyRule: single `policy:` documents, `mcp_policy:` blocks
// (server-keyed operation groups, all_servers, tenants) and the short entries of a server's
// `policies:` list. Defaults come from the `policies:` definitions block.
import type { ConfigIssue } from './errors.js';
import type { RawAudit, RawDefinitions, RawMcpGroup, RawMcpPolicy, RawMcpTenants, RawPolicyDoc } from './schema.js';
import { MCP_GROUP_SETTING_KEYS } from './schema.js';
import type {
  AuditObligations,
  Enforcement,
  LevelTable,
  NotificationTarget,
  PolicyAction,
  PolicyDefinitions,
  PolicyRule,
  PolicyTrigger,
  QuotaAction,
  RateKey,
  RateLimitAction,
  RequireApprovalAction,
  Scope,
  ServerConfig,
  SourceRef,
  TimeWindow,
} from './types.js';
import { DEFAULT_LEVELS, parseDuration, parseHours, parsePercent, parseQuotaAmount, parseRate } from './values.js';
import { formatPath, issueAt, type PathSegment, positionOf, type SourceDoc, suggest } from './yaml-source.js';

export const DEFAULT_PII_PATTERNS = ['ssn', 'credit_card', 'email', 'phone'];

export function normalizeLevels(
  raw: { quota?: Record<string, number | string>; threshold?: Record<string, string> } | undefined,
  src: SourceDoc | undefined,
  base: PathSegment[],
  issues: ConfigIssue[],
): LevelTable {
  const quota = { ...DEFAULT_LEVELS.quota };
  const threshold = { ...DEFAULT_LEVELS.threshold };
  for (const [name, v] of Object.entries(raw?.quota ?? {})) {
    const q = parseQuotaAmount(v);
    if (q.ok) quota[name] = q.value;
    else if (src) issues.push(issueAt(src, [...base, 'quota', name], q.message));
  }
  for (const [name, v] of Object.entries(raw?.threshold ?? {})) {
    const p = parsePercent(v);
    if (p.ok) threshold[name] = p.value;
    else if (src) issues.push(issueAt(src, [...base, 'threshold', name], p.message));
  }
  return { quota, threshold };
}

export function normalizeDefinitions(
  raw: RawDefinitions | undefined,
  levels: LevelTable,
  global: Enforcement,
  report: (path: PathSegment[], msg: string) => void,
): PolicyDefinitions {
  const threshold = raw?.resource_limit?.alert_threshold;
  let alertThreshold = 0.8;
  if (threshold !== undefined) {
    const p = parsePercent(threshold, levels);
    if (p.ok) alertThreshold = p.value;
    else report(['resource_limit', 'alert_threshold'], p.message);
  }
  const timeout = raw?.require_approval?.timeout;
  const t = timeout !== undefined ? parseDuration(timeout) : undefined;
  return {
    rateLimit: {
      type: raw?.rate_limit?.type ?? 'counter',
      window: raw?.rate_limit?.window ?? 'sliding',
      enforcement: raw?.rate_limit?.enforcement ?? global,
    },
    requireApproval: {
      type: raw?.require_approval?.type ?? 'workflow',
      minApprovals: raw?.require_approval?.approvers ?? 1,
      timeoutMs: t?.ok ? t.value : 60 * 60 * 1000,
      fallback: raw?.require_approval?.fallback ?? 'deny',
      approvalMode: raw?.require_approval?.approval_mode ?? 'wait',
    },
    resourceLimit: {
      type: raw?.resource_limit?.type ?? 'resource_quota',
      enforcement: raw?.resource_limit?.enforcement ?? global,
      alertThreshold,
    },
    piiDetection: {
      patterns: raw?.pii_detection?.patterns ?? DEFAULT_PII_PATTERNS,
      redact: raw?.pii_detection?.redact ?? true,
    },
  };
}

export interface PolicyContext {
  definitions: PolicyDefinitions;
  levels: LevelTable;
  globalEnforcement: Enforcement;
  servers: ServerConfig[];
  operationGroups: Record<string, string[]>;
  issues: ConfigIssue[];
}

/** Helper bound to one document: positions and issue reporting. */
class DocScope {
  constructor(
    readonly src: SourceDoc,
    readonly ctx: PolicyContext,
  ) {}
  error(path: PathSegment[], message: string, hint?: string): void {
    this.ctx.issues.push(issueAt(this.src, path, message, hint ? { hint } : {}));
  }
  warn(path: PathSegment[], message: string, hint?: string): void {
    this.ctx.issues.push(issueAt(this.src, path, message, { severity: 'warning', ...(hint ? { hint } : {}) }));
  }
  source(path: PathSegment[]): SourceRef {
    const pos = positionOf(this.src, path, true); // the key that starts the rule
    return { file: this.src.file, line: pos.line, column: pos.column, path: formatPath(path) };
  }
  percent(value: string | undefined, path: PathSegment[]): number | undefined {
    if (value === undefined) return undefined;
    const p = parsePercent(value, this.ctx.levels);
    if (!p.ok) this.error(path, p.message);
    return p.ok ? p.value : undefined;
  }
  duration(value: string | number | undefined, path: PathSegment[], fallback: number): number {
    if (value === undefined) return fallback;
    const d = parseDuration(value);
    return d.ok ? d.value : fallback; // the schema already reported a bad duration
  }
  serverList(value: string | string[] | undefined, path: PathSegment[]): '*' | string[] {
    const list = value === undefined ? ['all'] : Array.isArray(value) ? value : [value];
    if (list.some((s) => s === 'all' || s === '*' || s === 'all_servers')) return '*';
    const names = this.ctx.servers.map((s) => s.name);
    list.forEach((name, i) => {
      if (!names.includes(name)) {
        const at = Array.isArray(value) ? [...path, i] : path;
        this.error(
          at,
          `unknown server '${name}'`,
          suggest(name, names) ?? `servers: ${names.join(', ') || '(none configured)'}`,
        );
      }
    });
    return list;
  }
}

const wildcardList = (value: string | string[] | undefined): '*' | string[] => {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => v === 'all' || v === '*')) return '*';
  return list;
};
const plainList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function parseNotification(uri: string): NotificationTarget {
  if (uri.startsWith('slack://'))
    return { kind: 'slack', channel: uri.slice('slack://'.length).replace(/^#/, ''), uri };
  if (uri.startsWith('mailto:')) return { kind: 'email', address: uri.slice('mailto:'.length), uri };
  if (/^https?:\/\//.test(uri)) return { kind: 'webhook', url: uri, uri };
  return { kind: 'email', address: uri, uri };
}

function auditObligations(
  raw: RawAudit | boolean | undefined,
  extra: { resourceTracking?: boolean | undefined; notification?: string | string[] | undefined } = {},
): AuditObligations {
  const a: RawAudit = typeof raw === 'object' ? raw : {};
  const notifications = [...plainList(a.notification), ...plainList(extra.notification)].map(parseNotification);
  const logLevel = a.log_level ?? (raw === true || a.log_all_operations ? 'full' : raw === false ? 'none' : undefined);
  return {
    ...(logLevel ? { logLevel } : {}),
    logAllOperations: a.log_all_operations ?? raw === true,
    notifications,
    alertOnLimit: a.alert_on_limit ?? false,
    alertOnPii: a.alert_on_pii ?? false,
    resourceTracking: a.resource_tracking ?? extra.resourceTracking ?? false,
    ...(a.reporting ? { reporting: a.reporting } : {}),
    logRedacted: a.log_redacted ?? false,
    ...(a.retention_days !== undefined ? { retentionDays: a.retention_days } : {}),
    ...(a.encrypt_logs !== undefined ? { encryptLogs: a.encrypt_logs } : {}),
    ...(a.pii_detection !== undefined ? { piiDetection: a.pii_detection } : {}),
  };
}

function approvalAction(
  s: DocScope,
  raw: {
    approvers: string[];
    min_approvals?: number | undefined;
    timeout?: string | number | undefined;
    on_timeout?: 'deny' | 'allow' | undefined;
    approval_mode?: 'wait' | 'defer' | undefined;
    escalate_after?: string | number | undefined;
    escalate_to?: string[] | undefined;
    reminders?: string | number | undefined;
  },
  path: PathSegment[],
  minPath: PathSegment[],
): RequireApprovalAction {
  const d = s.ctx.definitions.requireApproval;
  let minApprovals = raw.min_approvals ?? d.minApprovals;
  if (raw.min_approvals !== undefined && raw.min_approvals > raw.approvers.length) {
    s.error(
      minPath,
      `min_approvals is ${raw.min_approvals} but only ${raw.approvers.length} approver(s) are listed`,
      'list more approvers or lower min_approvals',
    );
  } else if (raw.min_approvals === undefined && minApprovals > raw.approvers.length) {
    // The definitions block asks for more approvals than this rule lists approvers: cap rather than
    // make the rule unsatisfiable, and say so.
    s.warn(
      path,
      `policies.require_approval.approvers asks for ${minApprovals} approvals but this rule lists ${raw.approvers.length} approver(s); requiring ${raw.approvers.length}`,
    );
    minApprovals = raw.approvers.length;
  }
  return {
    type: 'require_approval',
    approvers: [...raw.approvers],
    minApprovals,
    timeoutMs: s.duration(raw.timeout, [...path, 'timeout'], d.timeoutMs),
    onTimeout: raw.on_timeout ?? d.fallback,
    approvalMode: raw.approval_mode ?? d.approvalMode,
    ...escalationOf(s, raw, path),
    ...(raw.reminders !== undefined ? { reminderEveryMs: s.duration(raw.reminders, [...path, 'reminders'], 0) } : {}),
  };
}

function escalationOf(
  s: DocScope,
  raw: { escalate_after?: string | number | undefined; escalate_to?: string[] | undefined },
  path: PathSegment[],
): Pick<RequireApprovalAction, 'escalation'> {
  if (raw.escalate_to === undefined && raw.escalate_after === undefined) return {};
  if (raw.escalate_to === undefined || raw.escalate_after === undefined) {
    const missing = raw.escalate_to === undefined ? 'escalate_to' : 'escalate_after';
    s.error(
      [...path, raw.escalate_to === undefined ? 'escalate_after' : 'escalate_to'],
      `escalation needs both escalate_after and escalate_to (${missing} is missing)`,
      'add escalate_after: 30m and escalate_to: [cto@company.com]',
    );
    return {};
  }
  return {
    escalation: {
      afterMs: s.duration(raw.escalate_after, [...path, 'escalate_after'], 0),
      approvers: [...raw.escalate_to],
    },
  };
}

function rateAction(
  s: DocScope,
  raw: {
    limit: string;
    per?: Scope | RateKey[] | undefined;
    burst?: number | undefined;
    on_exceeded?: 'block' | 'warn' | undefined;
    window?: 'sliding' | 'fixed' | undefined;
    alert_threshold?: string | undefined;
  },
  path: PathSegment[],
  enforcement: Enforcement,
  defaultPer: Scope,
): RateLimitAction | undefined {
  const r = parseRate(raw.limit);
  if (!r.ok) return undefined; // reported by the schema
  const alert = s.percent(raw.alert_threshold, [...path, 'alert_threshold']);
  return {
    type: 'rate_limit',
    rate: r.value,
    per: Array.isArray(raw.per) ? [...raw.per] : (raw.per ?? defaultPer),
    burst: raw.burst ?? 0,
    onExceeded: raw.on_exceeded ?? (enforcement === 'hard' ? 'block' : 'warn'),
    window: raw.window ?? s.ctx.definitions.rateLimit.window,
    ...(alert !== undefined ? { alertThreshold: alert } : {}),
  };
}

function quotaAction(
  s: DocScope,
  raw: {
    limit: number | string;
    resource?: string | undefined;
    per?: Scope | undefined;
    enforcement?: Enforcement | undefined;
    alert_threshold?: string | undefined;
  },
  path: PathSegment[],
): QuotaAction | undefined {
  const q = parseQuotaAmount(raw.limit, s.ctx.levels);
  if (!q.ok) {
    s.error([...path, 'limit'], q.message);
    return undefined;
  }
  const d = s.ctx.definitions.resourceLimit;
  const alert = s.percent(raw.alert_threshold, [...path, 'alert_threshold']) ?? d.alertThreshold;
  return {
    type: 'quota',
    resource: raw.resource ?? 'api_calls',
    amount: q.value,
    per: raw.per ?? 'tenant',
    enforcement: raw.enforcement ?? d.enforcement,
    alertThreshold: alert,
  };
}

function piiAction(
  s: DocScope,
  raw: boolean | { enabled?: boolean | undefined; redact?: boolean | undefined; patterns?: string[] | undefined },
): PolicyAction {
  const d = s.ctx.definitions.piiDetection;
  const o = typeof raw === 'object' ? raw : { enabled: raw };
  return {
    type: 'pii_detection',
    enabled: o.enabled ?? true,
    redact: o.redact ?? d.redact,
    patterns: o.patterns ?? [...d.patterns],
  };
}

function denyAction(raw: boolean | { message?: string | undefined }): PolicyAction | undefined {
  if (raw === false) return undefined;
  return typeof raw === 'object' && raw.message !== undefined
    ? { type: 'deny', message: raw.message }
    : { type: 'deny' };
}

const parseDates = (
  s: DocScope,
  raw: string[],
  path: PathSegment[],
): Array<{ from: string; to: string }> | undefined => {
  const out: Array<{ from: string; to: string }> = [];
  let ok = true;
  raw.forEach((text, i) => {
    const [from = '', to = from] = text.split('..').map((p) => p.trim());
    const valid = (d: string) => {
      const t = Date.parse(`${d}T00:00:00Z`);
      return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
    };
    if (!valid(from) || !valid(to)) {
      s.error([...path, i], `invalid date in '${text}'`, 'write 2026-12-24 or 2026-12-20..2027-01-04');
      ok = false;
    } else if (to < from) {
      s.error([...path, i], `date range '${text}' ends before it starts`);
      ok = false;
    } else out.push({ from, to });
  });
  return ok ? out : undefined;
};

function toolVisibility(raw: {
  allow?: string | string[] | undefined;
  deny?: string | string[] | undefined;
}): PolicyAction {
  return {
    type: 'tool_visibility',
    ...(raw.allow !== undefined ? { allow: plainList(raw.allow) } : {}),
    deny: plainList(raw.deny),
  };
}

function timeWindow(
  s: DocScope,
  raw: NonNullable<RawPolicyDoc['trigger']['time']>,
  path: PathSegment[],
): TimeWindow | undefined {
  let startMinute = 0;
  let endMinute = 24 * 60;
  if (raw.hours !== undefined) {
    const h = parseHours(raw.hours);
    if (!h.ok) {
      s.error([...path, 'hours'], h.message);
      return undefined;
    }
    ({ startMinute, endMinute } = h.value);
  }
  const timezone = raw.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    s.error(
      [...path, 'timezone'],
      `unknown time zone '${timezone}': expected an IANA name such as Europe/Paris or UTC`,
    );
    return undefined;
  }
  let dates: Array<{ from: string; to: string }> | undefined;
  if (raw.dates !== undefined) {
    dates = parseDates(s, raw.dates, [...path, 'dates']);
    if (!dates) return undefined;
  }
  return { days: raw.days ? [...raw.days] : [], startMinute, endMinute, timezone, ...(dates ? { dates } : {}) };
}

/** One `policy:` document. */
export function ruleFromPolicyDoc(
  src: SourceDoc,
  ctx: PolicyContext,
  doc: RawPolicyDoc,
  base: PathSegment[],
): PolicyRule {
  const s = new DocScope(src, ctx);
  const t = doc.trigger;
  const tPath = [...base, 'trigger'];
  const time = t.time ? timeWindow(s, t.time, [...tPath, 'time']) : undefined;
  const trigger: PolicyTrigger = {
    servers: s.serverList(t.mcp_server, [...tPath, 'mcp_server']),
    operations: wildcardList(t.operation),
    resourcePatterns: plainList(t.resource_pattern),
    tenants: wildcardList(t.tenants),
    users: wildcardList(t.users),
    roles: wildcardList(t.roles),
    ...(time ? { time } : {}),
  };
  const a = doc.action;
  const aPath = [...base, 'action'];
  const enforcement = doc.enforcement ?? a.quota?.enforcement ?? ctx.globalEnforcement;
  const actions: PolicyAction[] = [];
  if (a.require_approval)
    actions.push(
      approvalAction(
        s,
        a.require_approval,
        [...aPath, 'require_approval'],
        [...aPath, 'require_approval', 'min_approvals'],
      ),
    );
  if (a.rate_limit) {
    const r = rateAction(
      s,
      a.rate_limit,
      [...aPath, 'rate_limit'],
      doc.enforcement ?? ctx.definitions.rateLimit.enforcement,
      'user',
    );
    if (r) actions.push(r);
  }
  if (a.quota) {
    const q = quotaAction(s, a.quota, [...aPath, 'quota']);
    if (q) actions.push(q);
  }
  if (a.pii_detection) actions.push(piiAction(s, a.pii_detection));
  if (a.deny !== undefined) {
    const d = denyAction(a.deny);
    if (d) actions.push(d);
  }
  if (a.access_hours) {
    const w = timeWindow(s, a.access_hours, [...aPath, 'access_hours']);
    if (w) actions.push({ type: 'access_hours', window: w });
  }
  if (a.tools) actions.push(toolVisibility(a.tools));
  return {
    name: doc.name,
    ...(doc.description ? { description: doc.description } : {}),
    kind: 'policy',
    source: s.source(base),
    enabled: doc.enabled ?? true,
    trigger,
    actions,
    audit: auditObligations(doc.audit),
    enforcement,
  };
}

function baseTrigger(servers: '*' | string[]): PolicyTrigger {
  return { servers, operations: '*', resourcePatterns: [], tenants: '*', users: '*', roles: '*' };
}

/** Settings of an `mcp_policy` server block or operation group -> actions and obligations. */
function groupRule(
  s: DocScope,
  name: string,
  servers: '*' | string[],
  group: string | undefined,
  g: RawMcpGroup,
  path: PathSegment[],
): PolicyRule {
  const ctx = s.ctx;
  const enforcement = g.enforcement ?? ctx.globalEnforcement;
  const actions: PolicyAction[] = [];
  if (g.require_approval !== undefined && g.require_approval !== false) {
    const raw =
      g.require_approval === true
        ? { approvers: g.approvers ?? [], min_approvals: g.min_approvals, timeout: g.timeout, on_timeout: g.on_timeout }
        : g.require_approval;
    if (raw.approvers.length === 0) {
      s.error(
        [...path, 'require_approval'],
        'require_approval needs approvers',
        'add approvers: [ops-team@company.com]',
      );
    } else {
      actions.push(
        approvalAction(
          s,
          raw,
          [...path, 'require_approval'],
          [...path, g.require_approval === true ? 'min_approvals' : 'require_approval'],
        ),
      );
    }
  } else if (g.approvers !== undefined || g.min_approvals !== undefined) {
    s.error(
      [...path, g.approvers !== undefined ? 'approvers' : 'min_approvals'],
      'approvers/min_approvals have no effect without require_approval: true',
      undefined,
    );
  }
  if (g.rate_limit !== undefined) {
    const raw =
      typeof g.rate_limit === 'string'
        ? { limit: g.rate_limit, burst: g.burst, per: g.per, alert_threshold: g.alert_threshold }
        : g.rate_limit;
    const rPath = typeof g.rate_limit === 'string' ? path : [...path, 'rate_limit'];
    const r = rateAction(s, raw, rPath, g.enforcement ?? ctx.definitions.rateLimit.enforcement, 'user');
    if (r) actions.push(r);
  }
  if (g.quota !== undefined) {
    const q = quotaAction(s, { alert_threshold: g.alert_threshold, ...g.quota }, [...path, 'quota']);
    if (q) actions.push(q);
  }
  if (g.pii_detection !== undefined && g.pii_detection !== false) actions.push(piiAction(s, g.pii_detection));
  if (g.deny !== undefined) {
    const d = denyAction(g.deny);
    if (d) actions.push(d);
  }
  if (g.tools) actions.push(toolVisibility(g.tools));
  if (g.alert_threshold !== undefined && g.rate_limit === undefined && g.quota === undefined) {
    s.error([...path, 'alert_threshold'], 'alert_threshold needs a rate_limit or quota in the same block');
  }
  let operations: '*' | string[] = '*';
  if (g.operations) operations = wildcardList(g.operations);
  else if (group !== undefined) {
    const defined = ctx.operationGroups[group];
    if (defined) operations = wildcardList(defined);
    else
      s.warn(
        path,
        `operation group '${group}' is not defined, so the rule applies to every operation of ${servers === '*' ? 'every server' : servers.join(', ')}`,
        `list its operations under operations: or atom_gov.operation_groups.${group}`,
      );
  }
  return {
    name,
    kind: 'mcp_policy',
    source: s.source(path),
    enabled: true,
    trigger: {
      ...baseTrigger(servers),
      operations,
      ...(group !== undefined ? { operationGroup: group } : {}),
      resourcePatterns: plainList(g.resource_pattern),
    },
    actions,
    audit: auditObligations(g.audit, { resourceTracking: g.resource_tracking, notification: g.notification }),
    enforcement,
  };
}

function tenantsRule(s: DocScope, t: RawMcpTenants, path: PathSegment[]): PolicyRule {
  const actions: PolicyAction[] = [];
  if (t.isolation) actions.push({ type: 'tenant_isolation', isolation: t.isolation });
  const d = s.ctx.definitions.resourceLimit;
  const alert = s.percent(t.alert_threshold, [...path, 'alert_threshold']) ?? d.alertThreshold;
  for (const [resource, amount] of Object.entries(t.quota_per_tenant ?? {})) {
    const q = parseQuotaAmount(amount, s.ctx.levels);
    if (!q.ok) {
      s.error([...path, 'quota_per_tenant', resource], q.message);
      continue;
    }
    actions.push({
      type: 'quota',
      resource,
      amount: q.value,
      per: 'tenant',
      enforcement: t.enforcement ?? d.enforcement,
      alertThreshold: alert,
    });
  }
  return {
    name: 'tenants',
    kind: 'mcp_policy',
    source: s.source(path),
    enabled: true,
    trigger: baseTrigger('*'),
    actions,
    audit: auditObligations(undefined),
    enforcement: t.enforcement ?? d.enforcement,
  };
}

/** One `mcp_policy:` block -> one rule per server block's own settings and one per operation group. */
export function rulesFromMcpPolicy(
  src: SourceDoc,
  ctx: PolicyContext,
  doc: RawMcpPolicy,
  base: PathSegment[],
): PolicyRule[] {
  const s = new DocScope(src, ctx);
  const rules: PolicyRule[] = [];
  for (const [key, block] of Object.entries(doc)) {
    if (block === undefined) continue;
    const path = [...base, key];
    if (key === 'tenants') {
      rules.push(tenantsRule(s, block as RawMcpTenants, path));
      continue;
    }
    const servers = key === 'all_servers' ? '*' : s.serverList(key, path);
    const b = block as Record<string, unknown>;
    const settings = Object.fromEntries(
      Object.entries(b).filter(([k]) => MCP_GROUP_SETTING_KEYS.includes(k)),
    ) as RawMcpGroup;
    if (Object.keys(settings).length > 0) rules.push(groupRule(s, key, servers, undefined, settings, path));
    for (const [group, g] of Object.entries(b)) {
      if (MCP_GROUP_SETTING_KEYS.includes(group)) continue;
      rules.push(groupRule(s, `${key}.${group}`, servers, group, g as RawMcpGroup, [...path, group]));
    }
  }
  return rules;
}

/** The short entries of each server's `policies:` list, as rules the engine can evaluate like any other. */
export function rulesFromServers(ctx: PolicyContext): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const d = ctx.definitions;
  for (const server of ctx.servers) {
    const trigger = baseTrigger([server.name]);
    const common = {
      kind: 'server' as const,
      source: server.source,
      enabled: true,
      audit: auditObligations(undefined),
    };
    for (const p of server.policies) {
      if (p.kind === 'rate_limit') {
        rules.push({
          ...common,
          name: `${server.name}.rate_limit`,
          trigger,
          // A server-level limit protects the upstream: it counts every caller's calls together.
          actions: [
            {
              type: 'rate_limit',
              rate: p.rate,
              per: 'server',
              burst: 0,
              onExceeded: d.rateLimit.enforcement === 'hard' ? 'block' : 'warn',
              window: d.rateLimit.window,
            },
          ],
          enforcement: d.rateLimit.enforcement,
        });
      } else if (p.kind === 'require_approval') {
        const ops = ctx.operationGroups[p.operationGroup];
        rules.push({
          ...common,
          name: `${server.name}.require_approval.${p.operationGroup}`,
          trigger: { ...trigger, operations: ops ? wildcardList(ops) : '*', operationGroup: p.operationGroup },
          // No approver list in this short form: anyone holding the `approver` role may decide.
          actions: [
            {
              type: 'require_approval',
              approvers: [],
              minApprovals: d.requireApproval.minApprovals,
              timeoutMs: d.requireApproval.timeoutMs,
              onTimeout: d.requireApproval.fallback,
              approvalMode: d.requireApproval.approvalMode,
            },
          ],
          enforcement: 'hard',
        });
      } else if (p.kind === 'resource_limit') {
        rules.push({
          ...common,
          name: `${server.name}.resource_limit`,
          trigger,
          actions: [
            {
              type: 'quota',
              resource: 'api_calls',
              amount: p.amount,
              per: 'tenant',
              enforcement: d.resourceLimit.enforcement,
              alertThreshold: d.resourceLimit.alertThreshold,
            },
          ],
          enforcement: d.resourceLimit.enforcement,
        });
      } else if (p.kind === 'pii_detection' && p.value) {
        rules.push({
          ...common,
          name: `${server.name}.pii_detection`,
          trigger,
          actions: [
            {
              type: 'pii_detection',
              enabled: true,
              redact: d.piiDetection.redact,
              patterns: [...d.piiDetection.patterns],
            },
          ],
          enforcement: ctx.globalEnforcement,
        });
      }
    }
  }
  return rules;
}
