// The decision engine: compiled once from an AtomGovConfig, then `decide` is a few Set lookups and regex tests
// per call. Rules are indexed by server and, lazily, by (server, operation name), so a 500-rule config costs
// only the handful of rules that can apply. Pure: no I/O, no clock (the caller passes `time`).
import type {
  AtomGovConfig,
  AuditLevel,
  AuditObligations,
  Enforcement,
  NotificationTarget,
  PiiDetectionAction,
  PolicyRule,
  RateLimitAction,
  ServerConfig,
  TimeWindow,
} from '@atom-gov/config';
import type { RateLimitDimension } from '@atom-gov/limits';
import { compileGlob, compileNames, type Glob, matchScore, type NameMatcher } from './glob.js';
import type {
  ApprovalRequirement,
  Decision,
  DecisionContext,
  Explanation,
  ListKind,
  QuotaRequirement,
  RateLimitObligation,
  RuleExplanation,
  RuleMatch,
  WouldDeny,
} from './policy.types.js';
import { describeWindow, inWindow, type LocalTime, localTime } from './time-window.js';

/** Specificity weights: a named server outranks everything below it, then how exactly the operation is named. */
const SPEC_SERVER = 1000;
const SPEC_OP = 100; // x2 exact, x1 glob, x0 all
const SPEC_QUALIFIERS = { resource: 8, users: 4, roles: 2, tenants: 2, time: 1 };
const AUDIT_RANK: Record<AuditLevel, number> = { none: 0, summary: 1, full: 2 };
const CACHE_LIMIT = 50_000;
/** Decisions kept per candidate list (callers x roles x minutes); the map starts over when full. */
const DECISION_CACHE_LIMIT = 4096;

interface Visibility {
  allow?: NameMatcher;
  deny: NameMatcher;
}

export interface CompiledRule {
  name: string;
  rule: PolicyRule;
  source: string;
  servers: ReadonlySet<string> | null;
  ops: NameMatcher | null;
  tenants: ReadonlySet<string> | null;
  users: ReadonlySet<string> | null;
  roles: ReadonlySet<string> | null;
  resources: Glob[] | null;
  time?: TimeWindow;
  /** Specificity without the operation part (that depends on how the name matched). */
  baseSpec: number;
  tenantScoped: boolean;
  enforcement: Enforcement;
  triggerText: string;
  actionText: string;
  deny?: { message?: string };
  accessHours?: TimeWindow;
  localOnly: boolean;
  /** Set for the synthetic rule of a local_only server whose upstream is a remote URL. */
  remoteUpstream?: string;
  visibility?: Visibility;
  rateLimits: RateLimitObligation[];
  quotas: QuotaRequirement[];
  approval?: ApprovalRequirement;
  pii?: PiiDetectionAction;
  isolation?: 'strict' | 'shared';
  audit: AuditObligations;
}

interface Candidate {
  r: CompiledRule;
  spec: number;
}

/**
 * The candidate rules for one (server, operation name) and the decisions already made from them. A decision is a
 * pure function of the context parts the candidates read (tenant, user, roles, method, locality, and the minute
 * when a time window is involved), so repeated callers get the same frozen Decision without re-evaluating. Rules
 * that match argument values (resource_pattern) depend on the arguments: those lists are never cached.
 */
interface CandidateList {
  list: Candidate[];
  /** undefined: the decision depends on the arguments (resource patterns), evaluate every time. */
  decisions?: Map<string, Decision>;
  /** Some rule reads the clock (a trigger time window or access hours): the UTC minute is part of the key. */
  timed: boolean;
}

interface Denial {
  r: CompiledRule;
  spec: number;
  reason: string;
  remedy?: string;
  hidden?: boolean;
}

type VisibleContext = Omit<DecisionContext, 'name' | 'args' | 'resourceUris' | 'method'> & { method?: string };

const LIST_METHOD: Record<ListKind, string> = {
  tools: 'tools/call',
  prompts: 'prompts/get',
  resources: 'resources/read',
  resourceTemplates: 'resources/read',
};

const setOrNull = (v: '*' | string[]): ReadonlySet<string> | null => (v === '*' ? null : new Set(v));
const listText = (v: '*' | string[]) => (v === '*' ? 'all' : v.join(', '));
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/i;

function ratePer(a: RateLimitAction, tenantsEnabled: boolean): RateLimitDimension[] {
  if (Array.isArray(a.per)) return [...a.per];
  switch (a.per) {
    // With tenants enabled a user name is only unique inside its tenant; otherwise "per user" reads as written.
    case 'user':
      return tenantsEnabled ? ['tenant', 'user'] : ['user'];
    case 'tenant':
      return ['tenant'];
    case 'server':
      return ['server'];
    default:
      return [];
  }
}

function compileRule(rule: PolicyRule, config: AtomGovConfig): CompiledRule {
  const t = rule.trigger;
  const enforcement = rule.enforcement;
  let baseSpec = t.servers === '*' ? 0 : SPEC_SERVER;
  if (t.resourcePatterns.length > 0) baseSpec += SPEC_QUALIFIERS.resource;
  if (t.users !== '*') baseSpec += SPEC_QUALIFIERS.users;
  if (t.roles !== '*') baseSpec += SPEC_QUALIFIERS.roles;
  if (t.tenants !== '*') baseSpec += SPEC_QUALIFIERS.tenants;
  if (t.time) baseSpec += SPEC_QUALIFIERS.time;

  const trig: string[] = [`mcp_server ${listText(t.servers)}`, `operation ${listText(t.operations)}`];
  if (t.operationGroup) trig[1] += ` (group ${t.operationGroup})`;
  if (t.resourcePatterns.length > 0) trig.push(`resource_pattern ${t.resourcePatterns.join(', ')}`);
  if (t.tenants !== '*') trig.push(`tenants ${t.tenants.join(', ')}`);
  if (t.users !== '*') trig.push(`users ${t.users.join(', ')}`);
  if (t.roles !== '*') trig.push(`roles ${t.roles.join(', ')}`);
  if (t.time) trig.push(`time ${describeWindow(t.time)}`);

  const c: CompiledRule = {
    name: rule.name,
    rule,
    source: `${rule.source.file}:${rule.source.line}`,
    servers: setOrNull(t.servers),
    ops: t.operations === '*' ? null : compileNames(t.operations),
    tenants: setOrNull(t.tenants),
    users: setOrNull(t.users),
    roles: setOrNull(t.roles),
    resources: t.resourcePatterns.length > 0 ? t.resourcePatterns.map(compileGlob) : null,
    ...(t.time ? { time: t.time } : {}),
    baseSpec,
    tenantScoped: t.tenants !== '*',
    enforcement,
    triggerText: trig.join('; '),
    actionText: '',
    localOnly: false,
    rateLimits: [],
    quotas: [],
    audit: rule.audit,
  };
  const acts: string[] = [];
  for (const a of rule.actions) {
    switch (a.type) {
      case 'deny':
        c.deny = a.message !== undefined ? { message: a.message } : {};
        acts.push('deny');
        break;
      case 'access_hours':
        c.accessHours = a.window;
        acts.push(`allowed hours ${describeWindow(a.window)}`);
        break;
      case 'local_only':
        c.localOnly = true;
        acts.push('local callers only');
        break;
      case 'tool_visibility':
        c.visibility = {
          ...(a.allow !== undefined ? { allow: compileNames(a.allow) } : {}),
          deny: compileNames(a.deny),
        };
        acts.push(
          [a.allow ? `allow-list ${a.allow.join(', ')}` : '', a.deny.length ? `deny-list ${a.deny.join(', ')}` : '']
            .filter(Boolean)
            .join(', '),
        );
        break;
      case 'rate_limit': {
        const limit = a.rate.limit;
        const spec = {
          name: rule.name,
          limit,
          periodMs: a.rate.periodMs,
          window: a.window,
          ...(a.burst > 0 ? { burst: Math.min(a.burst, limit) } : {}),
          per: ratePer(a, config.tenants.enabled),
          enforcement: a.onExceeded === 'warn' ? ('warn' as const) : enforcement,
        };
        c.rateLimits.push({
          rule: rule.name,
          spec,
          alertOnLimit: rule.audit.alertOnLimit,
          ...(a.alertThreshold !== undefined ? { alertThreshold: a.alertThreshold } : {}),
        });
        acts.push(
          `rate limit ${limit}/${a.rate.period} per ${spec.per.join('+') || 'everyone'}${spec.burst ? ` burst ${spec.burst}` : ''} (${spec.enforcement})`,
        );
        break;
      }
      case 'quota':
        c.quotas.push({
          rule: rule.name,
          resource: a.resource,
          amount: a.amount,
          per: a.per,
          enforcement: a.enforcement,
          ...(a.alertThreshold !== undefined ? { alertThreshold: a.alertThreshold } : {}),
        });
        acts.push(
          `quota ${a.resource} ${a.amount.limit}${a.amount.period ? `/${a.amount.period}` : ''} per ${a.per} (${a.enforcement})`,
        );
        break;
      case 'require_approval':
        c.approval = {
          rule: rule.name,
          approvers: [...a.approvers],
          minApprovals: a.minApprovals,
          timeoutMs: a.timeoutMs,
          onTimeout: a.onTimeout,
          approvalMode: a.approvalMode,
          ...(a.escalation
            ? { escalation: { afterMs: a.escalation.afterMs, approvers: [...a.escalation.approvers] } }
            : {}),
          ...(a.reminderEveryMs !== undefined ? { reminderEveryMs: a.reminderEveryMs } : {}),
        };
        acts.push(
          `approval by ${a.minApprovals} of ${a.approvers.length ? a.approvers.join(', ') : 'the approver role'} within ${Math.round(a.timeoutMs / 60000)} min, on timeout ${a.onTimeout}`,
        );
        break;
      case 'pii_detection':
        if (a.enabled) {
          c.pii = a;
          acts.push(`PII ${a.redact ? 'redaction' : 'detection'} (${a.patterns.join(', ')})`);
        }
        break;
      case 'tenant_isolation':
        c.isolation = a.isolation;
        acts.push(`tenant isolation ${a.isolation}`);
        break;
    }
  }
  // The seed's compliance block says `audit: { pii_detection: true }`: scan with the default recognizers.
  if (rule.audit.piiDetection && !c.pii) {
    const d = config.policies.piiDetection;
    c.pii = { type: 'pii_detection', enabled: true, redact: d.redact, patterns: [...d.patterns] };
    acts.push(`PII ${d.redact ? 'redaction' : 'detection'} (${d.patterns.join(', ')})`);
  }
  if (rule.audit.logLevel) acts.push(`audit ${rule.audit.logLevel}`);
  c.actionText = acts.join('; ') || 'audit obligations only';
  return c;
}

/** Rules implied by server settings the config keeps on ServerConfig (local_only). */
function serverRules(server: ServerConfig, config: AtomGovConfig): CompiledRule[] {
  if (!server.localOnly) return [];
  let remote: string | undefined;
  if (server.url && !server.launch) {
    try {
      const host = new URL(server.url).hostname;
      if (!LOOPBACK.test(host)) remote = server.url;
    } catch {
      remote = server.url;
    }
  }
  const rule: PolicyRule = {
    name: `${server.name}.local_only`,
    kind: 'server',
    source: server.source,
    enabled: true,
    trigger: { servers: [server.name], operations: '*', resourcePatterns: [], tenants: '*', users: '*', roles: '*' },
    actions: [{ type: 'local_only' }],
    audit: {
      logAllOperations: false,
      notifications: [],
      alertOnLimit: false,
      alertOnPii: false,
      resourceTracking: false,
      logRedacted: false,
    },
    enforcement: config.global.enforcement,
  };
  const c = compileRule(rule, config);
  if (remote) c.remoteUpstream = remote;
  return [c];
}

export class PolicyEngine {
  readonly configVersion: string;
  /** Every compiled rule in config order (synthetic server rules last). */
  readonly rules: readonly CompiledRule[];
  private readonly byServer = new Map<string, CompiledRule[]>();
  private readonly anyServer: CompiledRule[];
  private readonly servers = new Map<string, ServerConfig>();
  private readonly candidates = new Map<string, CandidateList>();
  private readonly tenantIsolation?: 'strict' | 'shared';

  constructor(private readonly config: AtomGovConfig) {
    this.configVersion = config.version;
    const compiled = config.rules.filter((r) => r.enabled).map((r) => compileRule(r, config));
    for (const s of config.servers) {
      this.servers.set(s.name, s);
      compiled.push(...serverRules(s, config));
    }
    this.rules = compiled;
    this.anyServer = compiled.filter((r) => r.servers === null);
    for (const s of config.servers) {
      this.byServer.set(
        s.name,
        compiled.filter((r) => r.servers === null || r.servers.has(s.name)),
      );
    }
    if (config.tenants.enabled) this.tenantIsolation = config.tenants.isolation;
  }

  /** The decision for one operation. */
  decide(ctx: DecisionContext): Decision {
    const c = this.candidatesFor(ctx.server, ctx.name);
    const cache = c.decisions;
    if (!cache) return this.evaluate(ctx, c.list);
    const minute = c.timed ? Math.floor(ctx.time.getTime() / 60_000) : 0;
    // A time that is not a valid date cannot be a cache key (and localTime would not cache it either).
    if (!Number.isFinite(minute)) return this.evaluate(ctx, c.list);
    // JSON keeps the parts apart whatever characters the names contain.
    const key = JSON.stringify([ctx.tenant, ctx.user, ctx.roles, ctx.method, ctx.local, minute]);
    let d = cache.get(key);
    if (d === undefined) {
      d = deepFreeze(this.evaluate(ctx, c.list));
      if (cache.size >= DECISION_CACHE_LIMIT) cache.clear();
      cache.set(key, d);
    }
    return d;
  }

  /** Listing filter: one decision governs listing and calling, so a name the caller may not call is not listed. */
  visible(ctx: VisibleContext, kind: ListKind, name: string): boolean {
    const c: DecisionContext = { ...ctx, method: LIST_METHOD[kind], name };
    return this.decide(c).effect !== 'deny';
  }

  /** The decision plus, for every rule, whether it matched and why (or why not). Slower; for the CLI. */
  explain(ctx: DecisionContext): Explanation {
    const decision = this.decide(ctx);
    const byRule = new Map(decision.matches.map((m) => [m.rule, m]));
    const lt = new Map<string, LocalTime>();
    const rules: RuleExplanation[] = this.rules.map((r) => {
      const whyNot = this.whyNot(r, ctx, lt);
      const m = byRule.get(r.name);
      return {
        rule: r.name,
        source: r.source,
        matched: whyNot === undefined,
        why: whyNot ?? (m ? `${m.effect}: ${m.why}` : `matched: ${r.triggerText}: ${r.actionText}`),
      };
    });
    const disabled = this.config.rules
      .filter((r) => !r.enabled)
      .map((r) => ({
        rule: r.name,
        source: `${r.source.file}:${r.source.line}`,
        matched: false,
        why: 'disabled (enabled: false)',
      }));
    return { decision, rules: [...rules, ...disabled] };
  }

  private candidatesFor(server: string, name: string | undefined): CandidateList {
    const key = `${server}\u0000${name ?? '\u0000'}`;
    const hit = this.candidates.get(key);
    if (hit) return hit;
    const rules = this.byServer.get(server) ?? this.anyServer;
    const list: Candidate[] = [];
    for (const r of rules) {
      let op = 0;
      if (r.ops) {
        if (name === undefined) continue;
        op = matchScore(r.ops, name);
        if (op < 0) continue;
      }
      list.push({ r, spec: r.baseSpec + op * SPEC_OP });
    }
    const entry: CandidateList = {
      list,
      timed: list.some((c) => c.r.time !== undefined || c.r.accessHours !== undefined),
      ...(list.some((c) => c.r.resources !== null) ? {} : { decisions: new Map<string, Decision>() }),
    };
    if (this.candidates.size >= CACHE_LIMIT) this.candidates.clear();
    this.candidates.set(key, entry);
    return entry;
  }

  private whyNot(r: CompiledRule, ctx: DecisionContext, lt: Map<string, LocalTime>): string | undefined {
    const t = r.rule.trigger;
    if (r.servers && !r.servers.has(ctx.server)) return `server ${ctx.server} is not ${listText(t.servers)}`;
    if (r.ops) {
      if (ctx.name === undefined) return `no operation name (method ${ctx.method})`;
      if (matchScore(r.ops, ctx.name) < 0) return `operation ${ctx.name} does not match ${listText(t.operations)}`;
    }
    if (!this.qualifies(r, ctx, lt, { strings: undefined }))
      return t.tenants !== '*' && !r.tenants?.has(ctx.tenant)
        ? `tenant ${ctx.tenant} is not ${listText(t.tenants)}`
        : t.users !== '*' && !r.users?.has(ctx.user)
          ? `user ${ctx.user} is not ${listText(t.users)}`
          : t.roles !== '*' && !ctx.roles.some((x) => r.roles?.has(x))
            ? `roles [${ctx.roles.join(', ')}] include none of ${listText(t.roles)}`
            : t.time && !inWindow(t.time, this.local(ctx.time, t.time.timezone, lt))
              ? `outside the trigger window ${describeWindow(t.time)}`
              : `no argument value or resource URI matches ${t.resourcePatterns.join(', ')}`;
    return undefined;
  }

  private local(time: Date, tz: string, cache: Map<string, LocalTime>): LocalTime {
    let l = cache.get(tz);
    if (!l) {
      l = localTime(time, tz);
      cache.set(tz, l);
    }
    return l;
  }

  /** Tenant, user, role, time and resource parts of the trigger (server and operation are pre-filtered). */
  private qualifies(
    r: CompiledRule,
    ctx: DecisionContext,
    lt: Map<string, LocalTime>,
    res: { strings: string[] | undefined },
  ): boolean {
    if (r.tenants && !r.tenants.has(ctx.tenant)) return false;
    if (r.users && !r.users.has(ctx.user)) return false;
    if (r.roles) {
      let any = false;
      for (const role of ctx.roles)
        if (r.roles.has(role)) {
          any = true;
          break;
        }
      if (!any) return false;
    }
    if (r.time && !inWindow(r.time, this.local(ctx.time, r.time.timezone, lt))) return false;
    if (r.resources) {
      res.strings ??= resourceStrings(ctx);
      const strings = res.strings;
      if (!r.resources.some((re) => strings.some((s) => re.test(s)))) return false;
    }
    return true;
  }

  private evaluate(ctx: DecisionContext, candidates: Candidate[]): Decision {
    const lt = new Map<string, LocalTime>();
    const res: { strings: string[] | undefined } = { strings: undefined };
    const matched: Candidate[] = [];
    for (const c of candidates) if (this.qualifies(c.r, ctx, lt, res)) matched.push(c);

    const denials: Denial[] = [];
    const matches: RuleMatch[] = [];
    const server = this.servers.get(ctx.server);

    // Tool visibility: the most specific verdict wins (named server, then exact > glob > all, then
    // qualifiers); at equal rank deny beats allow; tenant-scoped rules can only take away.
    let vis: { allow: boolean; rank: number; c: Candidate; how: string } | undefined;
    for (const c of matched) {
      const v = c.r.visibility;
      const r = c.r;
      if (v) {
        if (ctx.name === undefined) continue;
        const d = matchScore(v.deny, ctx.name);
        const a = v.allow ? matchScore(v.allow, ctx.name) : -1;
        let allow: boolean;
        let score: number;
        let how: string;
        if (d >= 0 && d >= a) {
          allow = false;
          score = d;
          how = `'${ctx.name}' is on the deny-list of ${r.name}`;
        } else if (a >= 0) {
          allow = true;
          score = a;
          how = `'${ctx.name}' is on the allow-list of ${r.name}`;
        } else if (v.allow) {
          allow = false;
          score = 0;
          how = `'${ctx.name}' is not on the allow-list of ${r.name}`;
        } else continue;
        if (allow && r.tenantScoped) continue;
        const rank = (r.servers ? 1 : 0) * 10_000 + score * 1_000 + (r.baseSpec % SPEC_SERVER);
        if (!vis || rank > vis.rank || (rank === vis.rank && vis.allow && !allow)) vis = { allow, rank, c, how };
      }
    }
    if (vis) {
      if (vis.allow) matches.push({ rule: vis.c.r.name, effect: 'allow', why: `${vis.c.r.triggerText}: ${vis.how}` });
      else
        denials.push({
          r: vis.c.r,
          spec: vis.c.spec,
          reason: vis.how,
          remedy: 'the tool is hidden for this caller; ask an administrator to add it to the allow-list',
          hidden: true,
        });
    }

    for (const c of matched) {
      const r = c.r;
      if (r.deny)
        denials.push({
          r,
          spec: c.spec,
          reason: r.deny.message ?? `matched ${r.triggerText}`,
          remedy: 'no exception applies; ask the policy owner',
        });
      if (r.accessHours && !inWindow(r.accessHours, this.local(ctx.time, r.accessHours.timezone, lt))) {
        const w = describeWindow(r.accessHours);
        denials.push({ r, spec: c.spec, reason: `outside allowed hours ${w}`, remedy: `call again within ${w}` });
      }
      if (r.localOnly) {
        if (r.remoteUpstream)
          denials.push({
            r,
            spec: c.spec,
            reason: `server ${ctx.server} is local_only but its upstream ${r.remoteUpstream} is not a local process`,
            remedy: 'run the server on this host (command/path, or url on 127.0.0.1)',
          });
        else if (!ctx.local)
          denials.push({
            r,
            spec: c.spec,
            reason: `server ${ctx.server} is local_only and the caller is not on this host`,
            remedy: 'call it from this host (atom-gov proxy or a loopback address)',
          });
      }
    }

    // Shadow mode: a denial whose rule is enforced soft/warn is recorded, not applied.
    const hard: Denial[] = [];
    const wouldDeny: WouldDeny[] = [];
    for (const d of denials) {
      if (d.r.enforcement === 'hard') hard.push(d);
      else {
        wouldDeny.push({ rule: d.r.name, reason: d.reason, enforcement: d.r.enforcement });
        matches.push({ rule: d.r.name, effect: 'would-deny', why: `${d.r.triggerText}: ${d.reason}` });
      }
    }

    const obligations = this.obligations(matched, server, wouldDeny.length > 0);
    if (hard.length > 0) {
      hard.sort((a, b) => b.spec - a.spec);
      const first = hard[0]!;
      for (const d of hard) matches.push({ rule: d.r.name, effect: 'deny', why: `${d.r.triggerText}: ${d.reason}` });
      return {
        effect: 'deny',
        reason: first.reason,
        policy: first.r.name,
        rules: hard.map((d) => d.r.name),
        matches,
        ...(first.hidden ? { hidden: true } : {}),
        ...(first.remedy ? { remedy: first.remedy } : {}),
        obligations,
        wouldDeny,
        enforcement: 'hard',
        configVersion: this.configVersion,
      };
    }

    // Governance: the most specific approval rule sets the parameters (a tenant rule may only make it stricter);
    // every quota applies.
    let approval: { a: ApprovalRequirement; spec: number; tenant: boolean } | undefined;
    const quotas: QuotaRequirement[] = [];
    let quotaRule: Candidate | undefined;
    for (const c of matched) {
      const r = c.r;
      if (r.approval) {
        if (r.enforcement === 'warn') {
          wouldDeny.push({ rule: r.name, reason: 'would require approval', enforcement: 'warn' });
          matches.push({ rule: r.name, effect: 'would-deny', why: `${r.triggerText}: ${r.actionText}` });
        } else if (
          !approval ||
          c.spec > approval.spec ||
          // Equally specific: the stricter one (more approvals) governs.
          (c.spec === approval.spec && r.approval.minApprovals > approval.a.minApprovals)
        ) {
          approval = { a: r.approval, spec: c.spec, tenant: r.tenantScoped };
        }
      }
      quotas.push(...r.quotas);
      if (r.quotas.length > 0 && (!quotaRule || c.spec > quotaRule.spec)) quotaRule = c;
    }
    if (approval?.tenant) {
      const strictest = Math.max(...matched.map((c) => c.r.approval?.minApprovals ?? 0));
      approval.a = { ...approval.a, minApprovals: Math.max(approval.a.minApprovals, strictest) };
    }
    const governed = approval !== undefined || quotas.length > 0;
    for (const c of matched) {
      const r = c.r;
      if (matches.some((m) => m.rule === r.name)) continue;
      const isGov = r.approval !== undefined || r.quotas.length > 0;
      matches.push({
        rule: r.name,
        effect: isGov ? 'governed' : 'obligation',
        why: `${r.triggerText}: ${r.actionText}`,
      });
    }
    // The audit record's `policy`: the approval rule, else the most specific quota rule.
    const primary = approval?.a.rule ?? quotaRule?.r.name;
    return {
      effect: governed ? 'governed' : 'allow',
      ...(primary ? { policy: primary } : matched[0] ? { policy: mostSpecific(matched).r.name } : {}),
      rules: matches.map((m) => m.rule),
      matches,
      obligations: { ...obligations, alerts: { ...obligations.alerts, onWouldDeny: wouldDeny.length > 0 } },
      ...(governed ? { governed: { ...(approval ? { approval: approval.a } : {}), quotas } } : {}),
      wouldDeny,
      enforcement: wouldDeny.length === 0 ? 'hard' : wouldDeny.some((w) => w.enforcement === 'soft') ? 'soft' : 'warn',
      configVersion: this.configVersion,
    };
  }

  private obligations(
    matched: Candidate[],
    server: ServerConfig | undefined,
    onWouldDeny: boolean,
  ): Decision['obligations'] {
    const rateLimits: RateLimitObligation[] = [];
    const targets: NotificationTarget[] = [];
    const piiRules: string[] = [];
    const kinds = new Set<string>();
    let redact = false;
    let logRedacted = false;
    let alertOnPii = false;
    let onLimit = false;
    let resourceTracking = false;
    let isolation = this.tenantIsolation;
    // The server's audit_level counts as a named-server setting; a rule beats it only when more specific
    // (or equally specific: a policy document is the more deliberate statement). Tenant rules only raise it.
    let level: AuditLevel = server?.auditLevel ?? 'full';
    let levelSpec = server ? SPEC_SERVER - 1 : -1;
    let tenantFloor: AuditLevel = 'none';
    for (const c of matched) {
      const r = c.r;
      rateLimits.push(...r.rateLimits);
      if (r.pii) {
        piiRules.push(r.name);
        for (const p of r.pii.patterns) kinds.add(p);
        redact ||= r.pii.redact;
      }
      if (r.pii || r.audit.logRedacted || r.audit.alertOnPii) {
        logRedacted ||= r.audit.logRedacted;
        alertOnPii ||= r.audit.alertOnPii;
      }
      onLimit ||= r.audit.alertOnLimit;
      resourceTracking ||= r.audit.resourceTracking;
      for (const n of r.audit.notifications) if (!targets.some((t) => t.uri === n.uri)) targets.push(n);
      if (r.isolation && isolation !== 'strict') isolation = r.isolation;
      const l = r.audit.logLevel;
      if (l) {
        if (r.tenantScoped) {
          if (AUDIT_RANK[l] > AUDIT_RANK[tenantFloor]) tenantFloor = l;
        } else if (c.spec > levelSpec || (c.spec === levelSpec && AUDIT_RANK[l] > AUDIT_RANK[level])) {
          level = l;
          levelSpec = c.spec;
        }
      }
    }
    if (AUDIT_RANK[tenantFloor] > AUDIT_RANK[level]) level = tenantFloor;
    return {
      rateLimits,
      ...(piiRules.length > 0
        ? {
            pii: {
              rules: piiRules,
              scanner: { kinds: [...kinds], action: redact ? ('redact' as const) : ('alert' as const) },
              logRedacted,
              alertOnPii,
            },
          }
        : {}),
      auditLevel: level,
      pinCheck: true,
      alerts: { targets, onLimit, onPii: alertOnPii, onWouldDeny },
      ...(isolation ? { tenantIsolation: isolation } : {}),
      resourceTracking,
    };
  }
}

/** Cached decisions are shared by every call that gets them: frozen, so no caller can change another's. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function mostSpecific(list: Candidate[]): Candidate {
  let best = list[0]!;
  for (const c of list) if (c.spec > best.spec) best = c;
  return best;
}

/** Every string value of the arguments (deep, bounded), the resource URIs, and the URI of a resources/* call. */
function resourceStrings(ctx: DecisionContext): string[] {
  const out: string[] = [];
  if (ctx.resourceUris) out.push(...ctx.resourceUris);
  if (ctx.name !== undefined && ctx.method.startsWith('resources/')) out.push(ctx.name);
  const walk = (v: unknown, depth: number): void => {
    if (out.length >= 10_000 || depth > 32) return;
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(ctx.args, 0);
  return out;
}

/** Compiles the rules of a loaded configuration once; the engine is immutable (hot reload swaps engines). */
export function compilePolicy(config: AtomGovConfig): PolicyEngine {
  return new PolicyEngine(config);
}
