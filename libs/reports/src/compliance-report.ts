// The compliance report as one JSON model, built in a single streamed pass over the period's audit events; the
// PDF, HTML and Markdown renderers only lay it out. Every figure names where it comes from, for the auditor.
import { type AuditEvent, type AuditEventStream, type AuditQuery, retentionCutoff } from '@atom-gov/audit';
import type { AtomGovConfig, PolicyRule } from '@atom-gov/config';
import { CostAccumulator, type CostReport } from './costs.js';
import { denialReasonOf, isCall, limitEventOf, type LimitKind, piiFindingsOf, workflowEventOf } from './event-facts.js';
import { describePeriod, type ReportPeriod } from './period.js';
import { ReportError } from './report-error.js';

export const FRAMEWORKS = ['soc2', 'hipaa', 'gdpr'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
export const REPORT_FORMATS = ['pdf', 'html', 'json', 'md'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export type FindingStatus = 'pass' | 'attention' | 'fail' | 'info';

export interface Finding {
  /** Framework control reference (e.g. `CC6.1`, `§164.312(b)`, `Art. 32`), or `-` without a framework. */
  control: string;
  title: string;
  status: FindingStatus;
  evidence: string;
}

export interface IntegrityResult {
  status: 'verified' | 'problems found' | 'not available';
  detail: string;
  tenants: Array<{ tenant: string; events: number; checkpoints: number; problems: string[] }>;
}

export interface ComplianceReport {
  title: string;
  generatedAt: string;
  period: { label: string; since: string; until: string; text: string };
  scope: { tenant?: string };
  framework?: { id: Framework; name: string };
  config: { path: string; version: string; declaredVersion: string; files: string[] };
  summary: {
    events: number;
    calls: number;
    allowed: number;
    denied: number;
    governed: number;
    errors: number;
    tenants: number;
    users: number;
    servers: number;
  };
  findings: Finding[];
  accessControl: {
    settings: Array<{ name: string; value: string }>;
    policies: Array<{
      name: string;
      kind: string;
      source: string;
      enabled: boolean;
      enforcement: string;
      servers: string;
      controls: string;
    }>;
    configVersions: Array<{ version: string; firstSeen: string; lastSeen: string; events: number; current: boolean }>;
    servers: Array<{ name: string; transport: string; auditLevel: string; localOnly: boolean }>;
  };
  approvals: {
    total: number;
    approved: number;
    rejected: number;
    expired: number;
    pending: number;
    /** The most recent ones (at most 200), newest first. */
    items: Array<{
      operationId: string;
      requestedAt: string;
      tenant: string;
      requester: string;
      server: string;
      tool: string;
      policy: string;
      result: 'approved' | 'rejected' | 'expired' | 'pending' | 'cancelled';
      votes: Array<{ approver: string; decision: string; channel: string; at: string; reason?: string }>;
      decidedAt?: string;
    }>;
  };
  denials: { total: number; byReason: Array<{ policy: string; reason: string; count: number; lastSeen: string }> };
  limits: Array<{
    kind: LimitKind;
    policy: string;
    tenant: string;
    enforced: number;
    warned: number;
    lastSeen: string;
  }>;
  pii: {
    events: number;
    byKind: Array<{ kind: string; count: number }>;
    byWhere: Array<{ where: string; count: number }>;
    redactionOnStorage: boolean;
  };
  integrity: IntegrityResult;
  retention: {
    retentionDays: number;
    cutoff: string;
    oldestEvent?: string;
    expiredEvents: number;
    status: 'within policy' | 'purge due';
    encryptedAtRest: boolean;
  };
  tenants: Array<{
    tenant: string;
    calls: number;
    allowed: number;
    denied: number;
    governed: number;
    errors: number;
    users: number;
    piiEvents: number;
    cost?: number;
  }>;
  charts: {
    callsPerDay: Array<{ day: string; calls: number; denied: number }>;
    decisions: Array<{ decision: string; count: number }>;
    topTools: Array<{ tool: string; count: number }>;
  };
  costs?: Pick<CostReport, 'currency' | 'total' | 'tenants'>;
}

/** What the report reads from the audit store: the stream, and the chain verification when the store has it. */
export interface ReportSource {
  stream(filter: AuditQuery, opts?: { batchSize?: number }): AuditEventStream;
  verify?(opts?: { tenant?: string }): Promise<{
    ok: boolean;
    tenants: Array<{ tenant: string; events: number; checkpoints: number; problems: Array<{ message: string }> }>;
  }>;
}

export interface ComplianceOptions {
  config: AtomGovConfig;
  period: ReportPeriod;
  tenant?: string;
  framework?: Framework;
  now?: Date;
}

const FRAMEWORK_NAMES: Record<Framework, string> = {
  soc2: 'SOC 2 (AICPA Trust Services Criteria 2017)',
  hipaa: 'HIPAA Security Rule (45 CFR Part 164, Subpart C)',
  gdpr: 'GDPR (Regulation (EU) 2016/679)',
};

/** Which control each section gives evidence for, per framework. */
const CONTROLS: Record<Framework, Record<string, string>> = {
  soc2: {
    audit: 'CC7.2',
    access: 'CC6.1',
    approvals: 'CC6.3',
    change: 'CC8.1',
    monitoring: 'CC7.2',
    capacity: 'A1.1',
    integrity: 'CC7.2',
    encryption: 'CC6.7',
    pii: 'C1.1',
    retention: 'C1.2',
  },
  hipaa: {
    audit: '§164.312(b)',
    access: '§164.312(a)(1)',
    approvals: '§164.308(a)(4)',
    change: '§164.308(a)(1)(ii)(D)',
    monitoring: '§164.308(a)(1)(ii)(D)',
    capacity: '§164.308(a)(7)',
    integrity: '§164.312(c)(1)',
    encryption: '§164.312(a)(2)(iv)',
    pii: '§164.502(b)',
    retention: '§164.316(b)(2)(i)',
  },
  gdpr: {
    audit: 'Art. 30',
    access: 'Art. 32(1)(b)',
    approvals: 'Art. 25',
    change: 'Art. 5(2)',
    monitoring: 'Art. 32(1)(d)',
    capacity: 'Art. 32(1)(b)',
    integrity: 'Art. 5(1)(f)',
    encryption: 'Art. 32(1)(a)',
    pii: 'Art. 5(1)(c)',
    retention: 'Art. 5(1)(e)',
  },
};

/** Minimum audit retention each framework expects (HIPAA: six years for documentation). */
const MIN_RETENTION_DAYS: Record<Framework, number> = { soc2: 365, hipaa: 6 * 365, gdpr: 1 };

export function parseFramework(value: string | undefined): Framework | undefined {
  if (value === undefined) return undefined;
  if (!(FRAMEWORKS as readonly string[]).includes(value)) {
    throw new ReportError(`--framework '${value}' is not one of: ${FRAMEWORKS.join(', ')}`);
  }
  return value as Framework;
}

export function parseReportFormat(value: string | undefined): ReportFormat {
  const format = value ?? 'pdf';
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
    throw new ReportError(`--format '${format}' is not one of: ${REPORT_FORMATS.join(', ')}`);
  }
  return format as ReportFormat;
}

interface TenantAcc {
  calls: number;
  allowed: number;
  denied: number;
  governed: number;
  errors: number;
  users: Set<string>;
  piiEvents: number;
}

type ApprovalItem = ComplianceReport['approvals']['items'][number];
const MAX_APPROVAL_ITEMS = 200;
const MAX_DENIAL_REASONS = 50;

export async function buildComplianceReport(source: ReportSource, opts: ComplianceOptions): Promise<ComplianceReport> {
  const { config, period } = opts;
  const now = opts.now ?? new Date();
  const filter: AuditQuery = {
    since: period.since,
    until: period.until,
    ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
  };
  const days = new Map<string, { calls: number; denied: number }>();
  for (let t = period.since.getTime(); t < period.until.getTime(); t += 86_400_000) {
    days.set(new Date(t).toISOString().slice(0, 10), { calls: 0, denied: 0 });
  }
  const decisions = new Map<string, number>();
  const tools = new Map<string, number>();
  const tenants = new Map<string, TenantAcc>();
  const users = new Set<string>();
  const servers = new Set<string>();
  const versions = new Map<string, { firstSeen: Date; lastSeen: Date; events: number }>();
  const denials = new Map<string, { policy: string; reason: string; count: number; lastSeen: Date }>();
  const limits = new Map<string, ComplianceReport['limits'][number]>();
  const piiKinds = new Map<string, number>();
  const piiWhere = new Map<string, number>();
  const approvals = new Map<string, ApprovalItem>();
  const costs = new CostAccumulator(config.costs);
  const summary = { events: 0, calls: 0, allowed: 0, denied: 0, governed: 0, errors: 0 };
  let piiEvents = 0;

  for await (const e of source.stream(filter, { batchSize: 2000 })) {
    summary.events += 1;
    const v = versions.get(e.configVersion);
    if (v) {
      v.lastSeen = e.time;
      v.events += 1;
    } else versions.set(e.configVersion, { firstSeen: e.time, lastSeen: e.time, events: 1 });
    const wf = workflowEventOf(e);
    if (wf !== undefined && e.operationId !== undefined) trackApproval(approvals, e, wf);
    const pii = piiFindingsOf(e);
    if (pii.length > 0) {
      piiEvents += 1;
      for (const f of pii) {
        piiKinds.set(f.kind, (piiKinds.get(f.kind) ?? 0) + f.count);
        piiWhere.set(f.where, (piiWhere.get(f.where) ?? 0) + f.count);
      }
    }
    const limit = limitEventOf(e);
    if (limit) {
      const key = `${limit.kind}\u0000${limit.policy}\u0000${e.tenant}`;
      const l = limits.get(key) ?? { ...limit, tenant: e.tenant, enforced: 0, warned: 0, lastSeen: '' };
      if (limit.enforced) l.enforced += 1;
      else l.warned += 1;
      l.lastSeen = e.time.toISOString();
      limits.set(key, l);
    }
    if (!isCall(e)) continue;
    costs.add(e);
    summary.calls += 1;
    users.add(`${e.tenant}\u0000${e.user}`);
    servers.add(e.server);
    decisions.set(e.decision, (decisions.get(e.decision) ?? 0) + 1);
    const tool = `${e.server} / ${e.target ?? e.method}`;
    tools.set(tool, (tools.get(tool) ?? 0) + 1);
    const t = tenants.get(e.tenant) ?? {
      calls: 0,
      allowed: 0,
      denied: 0,
      governed: 0,
      errors: 0,
      users: new Set<string>(),
      piiEvents: 0,
    };
    tenants.set(e.tenant, t);
    t.calls += 1;
    t.users.add(e.user);
    if (pii.length > 0) t.piiEvents += 1;
    const day = days.get(e.time.toISOString().slice(0, 10));
    if (day) day.calls += 1;
    const denied = e.decision === 'deny' || e.outcome === 'denied';
    if (denied) {
      summary.denied += 1;
      t.denied += 1;
      if (day) day.denied += 1;
      const reason = denialReasonOf(e);
      const policy = e.policy ?? '-';
      const key = `${policy}\u0000${reason}`;
      const d = denials.get(key) ?? { policy, reason, count: 0, lastSeen: e.time };
      d.count += 1;
      d.lastSeen = e.time;
      denials.set(key, d);
    } else if (e.decision === 'governed') {
      summary.governed += 1;
      t.governed += 1;
    } else if (e.decision === 'allow') {
      summary.allowed += 1;
      t.allowed += 1;
    }
    if (e.outcome === 'error' || e.outcome === 'timeout' || e.decision === 'error') {
      summary.errors += 1;
      t.errors += 1;
    }
  }

  const integrity = await verifyIntegrity(source, opts.tenant);
  const retention = await retentionStatus(source, config, opts.tenant, now);
  const costReport = costs.result(period, opts.tenant !== undefined ? { tenant: opts.tenant } : {});
  const haveCosts = Object.keys(config.costs.servers).length > 0 || hasRates(config.costs.default);
  const approvalList = [...approvals.values()].sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  const count = (r: ApprovalItem['result']) => approvalList.filter((a) => a.result === r).length;

  const report: ComplianceReport = {
    title: 'ATOM-GOV Compliance Report',
    generatedAt: now.toISOString(),
    period: {
      label: period.label,
      since: period.since.toISOString(),
      until: period.until.toISOString(),
      text: describePeriod(period),
    },
    scope: opts.tenant !== undefined ? { tenant: opts.tenant } : {},
    ...(opts.framework ? { framework: { id: opts.framework, name: FRAMEWORK_NAMES[opts.framework] } } : {}),
    config: {
      path: config.configPath,
      version: config.version,
      declaredVersion: config.declaredVersion,
      files: [...config.files],
    },
    summary: { ...summary, tenants: tenants.size, users: users.size, servers: servers.size },
    findings: [],
    accessControl: {
      settings: [
        { name: 'Audit of every operation (global.audit)', value: onOff(config.global.audit) },
        { name: 'Default enforcement', value: config.global.enforcement },
        { name: 'Encryption of audit fields at rest', value: onOff(config.audit.encrypt) },
        { name: 'PII redaction before storage', value: onOff(config.audit.piiRedaction) },
        { name: 'Tenant isolation', value: config.tenants.enabled ? config.tenants.isolation : 'tenants off' },
        {
          name: 'Unauthenticated callers',
          value: config.gateway.allowUnauthenticated
            ? `allowed (loopback, as ${config.gateway.anonymous.user})`
            : 'refused',
        },
        { name: 'API keys', value: String(config.gateway.apiKeys.length) },
        { name: 'Tool pinning', value: config.pinning.mode },
      ],
      policies: config.rules.map((r) => ({
        name: r.name,
        kind: r.kind,
        source: `${r.source.file}:${r.source.line}`,
        enabled: r.enabled,
        enforcement: r.enforcement,
        servers: r.trigger.servers === '*' ? 'all' : r.trigger.servers.join(', '),
        controls: describeActions(r),
      })),
      configVersions: [...versions.entries()]
        .sort((a, b) => a[1].firstSeen.getTime() - b[1].firstSeen.getTime())
        .map(([version, s]) => ({
          version,
          firstSeen: s.firstSeen.toISOString(),
          lastSeen: s.lastSeen.toISOString(),
          events: s.events,
          current: version === config.version,
        })),
      servers: config.servers.map((s) => ({
        name: s.name,
        transport: s.transport,
        auditLevel: s.auditLevel,
        localOnly: s.localOnly,
      })),
    },
    approvals: {
      total: approvalList.length,
      approved: count('approved'),
      rejected: count('rejected'),
      expired: count('expired'),
      pending: count('pending'),
      items: approvalList.slice(0, MAX_APPROVAL_ITEMS),
    },
    denials: {
      total: summary.denied,
      byReason: [...denials.values()]
        .sort((a, b) => b.count - a.count)
        .slice(0, MAX_DENIAL_REASONS)
        .map((d) => ({ ...d, lastSeen: d.lastSeen.toISOString() })),
    },
    limits: [...limits.values()].sort((a, b) => b.enforced + b.warned - (a.enforced + a.warned)),
    pii: {
      events: piiEvents,
      byKind: sortedCounts(piiKinds).map(([kind, count]) => ({ kind, count })),
      byWhere: sortedCounts(piiWhere).map(([where, count]) => ({ where, count })),
      redactionOnStorage: config.audit.piiRedaction,
    },
    integrity,
    retention,
    tenants: [...tenants.entries()]
      .sort((a, b) => b[1].calls - a[1].calls)
      .map(([tenant, t]) => ({
        tenant,
        calls: t.calls,
        allowed: t.allowed,
        denied: t.denied,
        governed: t.governed,
        errors: t.errors,
        users: t.users.size,
        piiEvents: t.piiEvents,
        ...(haveCosts ? { cost: costReport.tenants.find((c) => c.tenant === tenant)?.total ?? 0 } : {}),
      })),
    charts: {
      callsPerDay: [...days.entries()].map(([day, d]) => ({ day, ...d })),
      decisions: sortedCounts(decisions).map(([decision, count]) => ({ decision, count })),
      topTools: sortedCounts(tools)
        .slice(0, 10)
        .map(([tool, count]) => ({ tool, count })),
    },
    ...(haveCosts
      ? { costs: { currency: costReport.currency, total: costReport.total, tenants: costReport.tenants } }
      : {}),
  };
  report.findings = findings(report, config, opts.framework);
  return report;
}

function hasRates(r: AtomGovConfig['costs']['default']): boolean {
  return r.perCall > 0 || r.perSecond > 0 || r.perKb > 0 || r.perUnit > 0;
}

function onOff(v: boolean): string {
  return v ? 'on' : 'off';
}

function sortedCounts(m: Map<string, number>): Array<[string, number]> {
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function describeActions(r: PolicyRule): string {
  return r.actions
    .map((a) => {
      switch (a.type) {
        case 'require_approval':
          return `approval ${a.minApprovals} of ${a.approvers.length ? a.approvers.join(', ') : 'approver role'}`;
        case 'rate_limit':
          return `rate limit ${a.rate.limit}/${a.rate.period}`;
        case 'quota':
          return `quota ${a.resource} ${a.amount.limit}${a.amount.period ? `/${a.amount.period}` : ''}`;
        case 'pii_detection':
          return `PII ${a.redact ? 'redaction' : 'detection'}`;
        case 'deny':
          return 'deny';
        case 'tenant_isolation':
          return `tenant isolation ${a.isolation}`;
        case 'local_only':
          return 'local only';
        case 'access_hours':
          return 'access hours';
        case 'tool_visibility':
          return 'tool allow/deny lists';
      }
      return '';
    })
    .filter(Boolean)
    .join('; ');
}

const VOTE = /^vote: (approve|reject) by (.+?) via ([^:]+?)(?:: (.*))?$/;

/** Folds the governed-operation workflow's records into one approval story per operation. */
function trackApproval(approvals: Map<string, ApprovalItem>, e: AuditEvent, kind: string): void {
  const id = e.operationId!;
  let a = approvals.get(id);
  if (!a) {
    a = {
      operationId: id,
      requestedAt: e.time.toISOString(),
      tenant: e.tenant,
      requester: e.user,
      server: e.server,
      tool: e.target ?? e.method,
      policy: e.policy ?? '-',
      result: 'pending',
      votes: [],
    };
    approvals.set(id, a);
  }
  if (kind === 'requested') a.requestedAt = e.time.toISOString();
  if (kind === 'vote') {
    const m = VOTE.exec(e.intent ?? '');
    if (m) {
      a.votes.push({
        approver: m[2]!,
        decision: m[1]!,
        channel: m[3]!,
        at: e.time.toISOString(),
        ...(m[4] ? { reason: m[4] } : {}),
      });
    }
  }
  if (kind === 'decided') {
    a.decidedAt = e.time.toISOString();
    a.result = e.decision === 'deny' || e.outcome === 'denied' ? 'rejected' : 'approved';
  }
  if (kind === 'expired') {
    a.decidedAt = e.time.toISOString();
    a.result = 'expired';
  }
  if (kind === 'outcome' && e.outcome === 'cancelled' && a.result === 'pending') a.result = 'cancelled';
  if (kind === 'quota_refused' && a.result === 'pending') a.result = 'rejected';
}

async function verifyIntegrity(source: ReportSource, tenant: string | undefined): Promise<IntegrityResult> {
  if (typeof source.verify !== 'function') {
    return {
      status: 'not available',
      detail: 'this audit store does not provide hash-chain verification',
      tenants: [],
    };
  }
  const r = await source.verify(tenant !== undefined ? { tenant } : {});
  const tenants = r.tenants.map((t) => ({
    tenant: t.tenant,
    events: t.events,
    checkpoints: t.checkpoints,
    problems: t.problems.map((p) => p.message),
  }));
  const events = tenants.reduce((s, t) => s + t.events, 0);
  const problems = tenants.reduce((s, t) => s + t.problems.length, 0);
  return {
    status: r.ok ? 'verified' : 'problems found',
    detail: r.ok
      ? `hash chain and signed checkpoints verified: ${events} events in ${tenants.length} tenant chain(s)`
      : `${problems} problem(s) found in ${events} events: see the list below`,
    tenants,
  };
}

async function retentionStatus(
  source: ReportSource,
  config: AtomGovConfig,
  tenant: string | undefined,
  now: Date,
): Promise<ComplianceReport['retention']> {
  // The same calendar-correct cut-off the retention schedule purges at (local midnight in audit.time_zone).
  const cutoff = retentionCutoff(now, config.audit.retentionDays, config.audit.timeZone);
  const scope = tenant !== undefined ? { tenant } : {};
  let oldest: Date | undefined;
  for await (const e of source.stream({ ...scope, limit: 1 }, { batchSize: 1 })) oldest = e.time;
  const expired = await source.stream({ ...scope, until: cutoff }).count();
  return {
    retentionDays: config.audit.retentionDays,
    cutoff: cutoff.toISOString(),
    ...(oldest ? { oldestEvent: oldest.toISOString() } : {}),
    expiredEvents: expired,
    status: expired > 0 ? 'purge due' : 'within policy',
    encryptedAtRest: config.audit.encrypt,
  };
}

function findings(r: ComplianceReport, config: AtomGovConfig, framework: Framework | undefined): Finding[] {
  const c = (area: string): string => (framework ? CONTROLS[framework][area]! : '-');
  const out: Finding[] = [];
  out.push({
    control: c('audit'),
    title: 'Every MCP operation is recorded',
    status: config.global.audit ? 'pass' : 'fail',
    evidence: config.global.audit
      ? `global.audit is on; ${r.summary.events} audit events in the period, ${r.summary.calls} calls`
      : 'global.audit is off: operations are not recorded',
  });
  out.push({
    control: c('integrity'),
    title: 'Audit trail integrity (hash chain, signed checkpoints)',
    status: r.integrity.status === 'verified' ? 'pass' : r.integrity.status === 'problems found' ? 'fail' : 'attention',
    evidence: r.integrity.detail,
  });
  const approvalRules = config.rules.filter((x) => x.actions.some((a) => a.type === 'require_approval'));
  out.push({
    control: c('approvals'),
    title: 'Sensitive operations need human approval',
    status: approvalRules.length > 0 ? 'pass' : 'attention',
    evidence:
      approvalRules.length > 0
        ? `${approvalRules.length} approval polic${approvalRules.length === 1 ? 'y' : 'ies'} (${approvalRules.map((x) => x.name).join(', ')}); ${r.approvals.total} governed operation(s): ${r.approvals.approved} approved, ${r.approvals.rejected} rejected, ${r.approvals.expired} expired`
        : 'no require_approval policy is configured',
  });
  const current = r.accessControl.configVersions.some((v) => v.current);
  out.push({
    control: c('change'),
    title: 'Policy changes are traceable',
    status: 'info',
    evidence: `${r.accessControl.configVersions.length} configuration version(s) in force during the period; current version ${config.version.slice(0, 12)}${current ? ' (seen in the audit records)' : ' (not yet seen in this period)'}`,
  });
  out.push({
    control: c('monitoring'),
    title: 'Refused and limited calls are monitored',
    status: 'info',
    evidence: `${r.denials.total} denial(s) by ${r.denials.byReason.length} reason(s); ${r.limits.reduce((s, l) => s + l.enforced, 0)} enforced and ${r.limits.reduce((s, l) => s + l.warned, 0)} warned rate-limit/quota event(s)`,
  });
  out.push({
    control: c('encryption'),
    title: 'Audit fields encrypted at rest',
    status: config.audit.encrypt ? 'pass' : framework === 'soc2' ? 'attention' : 'fail',
    evidence: config.audit.encrypt
      ? 'audit.encrypt is on: arguments, results and error text sealed with AES-256-GCM per-tenant keys'
      : 'audit.encrypt is off',
  });
  out.push({
    control: c('pii'),
    title: 'Personal data is kept out of the audit trail',
    status: config.audit.piiRedaction ? 'pass' : 'fail',
    evidence: config.audit.piiRedaction
      ? `PII redaction before storage is on; ${r.pii.events} event(s) with PII detected (kinds only are recorded)`
      : 'audit.pii_redaction is off',
  });
  const min = framework ? MIN_RETENTION_DAYS[framework] : 0;
  out.push({
    control: c('retention'),
    title: 'Audit retention',
    status: r.retention.retentionDays < min ? 'fail' : r.retention.status === 'purge due' ? 'attention' : 'pass',
    evidence:
      `retention_days ${r.retention.retentionDays}${min > 1 ? ` (framework minimum ${min})` : ''}; ` +
      (r.retention.expiredEvents > 0
        ? `${r.retention.expiredEvents} event(s) older than the cut-off await the purge`
        : 'no event is older than the cut-off'),
  });
  return out;
}
