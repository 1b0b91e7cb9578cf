// Markdown rendering of the compliance report: the sections in the same order as the PDF and HTML.
import type { ComplianceReport, FindingStatus } from './compliance-report.js';

/** The section headings every rendering uses, in order (tests look for them). */
export const SECTION_TITLES = [
  'Summary and findings',
  'Activity',
  'Access control evidence',
  'Approvals',
  'Denials by reason',
  'Rate-limit and quota events',
  'PII detections',
  'Audit integrity',
  'Retention',
  'Per-tenant summary',
] as const;

export const STATUS_LABEL: Record<FindingStatus, string> = {
  pass: 'PASS',
  attention: 'ATTENTION',
  fail: 'FAIL',
  info: 'INFO',
};

/** Escapes a table cell: pipes and line breaks would break the row. */
function cell(v: unknown): string {
  return String(v ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
}

function table(head: string[], rows: unknown[][], empty = '_None in this period._'): string {
  if (rows.length === 0) return `${empty}\n`;
  return [
    `| ${head.map(cell).join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ]
    .join('\n')
    .concat('\n');
}

export function shortTime(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

export function renderMarkdown(r: ComplianceReport): string {
  const s = SECTION_TITLES;
  const out: string[] = [];
  out.push(`# ${r.title}`);
  out.push(
    [
      `**Period:** ${r.period.text} (UTC)  `,
      `**Scope:** ${r.scope.tenant ? `tenant ${r.scope.tenant}` : 'all tenants'}  `,
      ...(r.framework ? [`**Framework:** ${r.framework.name}  `] : []),
      `**Configuration:** ${r.config.path}, version ${r.config.version} (declared ${r.config.declaredVersion})  `,
      `**Generated:** ${r.generatedAt}`,
    ].join('\n'),
  );
  out.push(`## 1. ${s[0]}`);
  out.push(
    table(
      ['Audit events', 'Calls', 'Allowed', 'Governed', 'Denied', 'Errors', 'Tenants', 'Users', 'Servers'],
      [
        [
          r.summary.events,
          r.summary.calls,
          r.summary.allowed,
          r.summary.governed,
          r.summary.denied,
          r.summary.errors,
          r.summary.tenants,
          r.summary.users,
          r.summary.servers,
        ],
      ],
    ),
  );
  out.push(
    table(
      ['Control', 'Check', 'Status', 'Evidence'],
      r.findings.map((f) => [f.control, f.title, STATUS_LABEL[f.status], f.evidence]),
    ),
  );
  out.push(`## 2. ${s[1]}`);
  out.push('### Calls per day');
  out.push(
    table(
      ['Day', 'Calls', 'Denied'],
      r.charts.callsPerDay.map((d) => [d.day, d.calls, d.denied]),
    ),
  );
  out.push('### Decisions');
  out.push(
    table(
      ['Decision', 'Calls'],
      r.charts.decisions.map((d) => [d.decision, d.count]),
    ),
  );
  out.push('### Top tools');
  out.push(
    table(
      ['Server / tool', 'Calls'],
      r.charts.topTools.map((t) => [t.tool, t.count]),
    ),
  );
  out.push(`## 3. ${s[2]}`);
  out.push(
    table(
      ['Setting', 'Value'],
      r.accessControl.settings.map((x) => [x.name, x.value]),
    ),
  );
  out.push('### Policies in force');
  out.push(
    table(
      ['Policy', 'Form', 'Servers', 'Controls', 'Enforcement', 'Enabled', 'Source'],
      r.accessControl.policies.map((p) => [
        p.name,
        p.kind,
        p.servers,
        p.controls,
        p.enforcement,
        p.enabled ? 'yes' : 'no',
        p.source,
      ]),
      '_No policies configured._',
    ),
  );
  out.push('### Configuration versions seen in the audit records');
  out.push(
    table(
      ['Version (sha256)', 'First seen', 'Last seen', 'Events', 'Current'],
      r.accessControl.configVersions.map((v) => [
        v.version,
        shortTime(v.firstSeen),
        shortTime(v.lastSeen),
        v.events,
        v.current ? 'yes' : '',
      ]),
    ),
  );
  out.push('### Servers under governance');
  out.push(
    table(
      ['Server', 'Transport', 'Audit level', 'Local only'],
      r.accessControl.servers.map((x) => [x.name, x.transport, x.auditLevel, x.localOnly ? 'yes' : 'no']),
      '_No servers configured._',
    ),
  );
  out.push(`## 4. ${s[3]}`);
  out.push(
    `${r.approvals.total} governed operation(s): ${r.approvals.approved} approved, ${r.approvals.rejected} rejected, ` +
      `${r.approvals.expired} expired, ${r.approvals.pending} pending.\n`,
  );
  out.push(
    table(
      ['Requested', 'Operation', 'Tenant', 'Requester', 'Tool', 'Policy', 'Result', 'Approvers (when, how)'],
      r.approvals.items.map((a) => [
        shortTime(a.requestedAt),
        a.operationId,
        a.tenant,
        a.requester,
        `${a.server} / ${a.tool}`,
        a.policy,
        a.result,
        a.votes
          .map(
            (v) =>
              `${v.decision} by ${v.approver} at ${shortTime(v.at)} via ${v.channel}${v.reason ? ` (${v.reason})` : ''}`,
          )
          .join('; ') || '-',
      ]),
    ),
  );
  out.push(`## 5. ${s[4]}`);
  out.push(
    table(
      ['Policy', 'Reason', 'Count', 'Last seen'],
      r.denials.byReason.map((d) => [d.policy, d.reason, d.count, shortTime(d.lastSeen)]),
    ),
  );
  out.push(`## 6. ${s[5]}`);
  out.push(
    table(
      ['Kind', 'Policy', 'Tenant', 'Enforced', 'Warned', 'Last seen'],
      r.limits.map((l) => [l.kind.replace('_', ' '), l.policy, l.tenant, l.enforced, l.warned, shortTime(l.lastSeen)]),
    ),
  );
  out.push(`## 7. ${s[6]}`);
  out.push(
    `${r.pii.events} event(s) with PII detected; redaction before storage is ${r.pii.redactionOnStorage ? 'on' : 'off'}. ` +
      'Only the kind and count of each finding is recorded, never the value.\n',
  );
  out.push(
    table(
      ['PII kind', 'Findings'],
      r.pii.byKind.map((k) => [k.kind, k.count]),
    ),
  );
  out.push(`## 8. ${s[7]}`);
  out.push(`**${r.integrity.status.toUpperCase()}**: ${r.integrity.detail}\n`);
  out.push(
    table(
      ['Tenant', 'Events', 'Checkpoints', 'Problems'],
      r.integrity.tenants.map((t) => [t.tenant, t.events, t.checkpoints, t.problems.join('; ') || 'none']),
      '',
    ),
  );
  out.push(`## 9. ${s[8]}`);
  out.push(
    table(
      ['Retention', 'Cut-off', 'Oldest event', 'Older than cut-off', 'Status', 'Encrypted at rest'],
      [
        [
          `${r.retention.retentionDays} days`,
          shortTime(r.retention.cutoff),
          r.retention.oldestEvent ? shortTime(r.retention.oldestEvent) : '-',
          r.retention.expiredEvents,
          r.retention.status,
          r.retention.encryptedAtRest ? 'yes' : 'no',
        ],
      ],
    ),
  );
  out.push(`## 10. ${s[9]}`);
  const withCost = r.costs !== undefined;
  out.push(
    table(
      [
        'Tenant',
        'Calls',
        'Allowed',
        'Governed',
        'Denied',
        'Errors',
        'Users',
        'PII events',
        ...(withCost ? [`Cost (${r.costs!.currency})`] : []),
      ],
      r.tenants.map((t) => [
        t.tenant,
        t.calls,
        t.allowed,
        t.governed,
        t.denied,
        t.errors,
        t.users,
        t.piiEvents,
        ...(withCost ? [(t.cost ?? 0).toFixed(4)] : []),
      ]),
    ),
  );
  return `${out.join('\n\n')}\n`;
}
