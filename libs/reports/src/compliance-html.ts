// Self-contained HTML rendering of the compliance report: one file, no scripts, no external assets; charts are
// inline SVG so the file prints and archives as it is.
import { SECTION_TITLES, shortTime, STATUS_LABEL } from './compliance-markdown.js';
import type { ComplianceReport } from './compliance-report.js';

const esc = (v: unknown): string =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export const COLORS = {
  ink: '#1f2933',
  muted: '#616e7c',
  accent: '#1c4e80',
  allow: '#2f855a',
  deny: '#c53030',
  governed: '#b7791f',
  error: '#6b46c1',
  grid: '#d9e2ec',
  pass: '#2f855a',
  attention: '#b7791f',
  fail: '#c53030',
  info: '#1c4e80',
} as const;

export function decisionColor(decision: string): string {
  return (COLORS as Record<string, string>)[decision] ?? COLORS.accent;
}

function table(head: string[], rows: unknown[][], empty = 'None in this period.', numeric: number[] = []): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const trs = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${typeof c === 'object' && c !== null && 'html' in c ? (c as { html: string }).html : esc(c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

/** Vertical bars per day; the denied share of each day drawn over it in red. */
export function dailyChartSvg(days: ComplianceReport['charts']['callsPerDay']): string {
  const w = 720;
  const h = 220;
  const left = 44;
  const bottom = 28;
  const max = Math.max(1, ...days.map((d) => d.calls));
  const slot = (w - left - 8) / Math.max(1, days.length);
  const bar = Math.max(1, slot * 0.7);
  const y = (v: number) => h - bottom - (v / max) * (h - bottom - 12);
  const ticks = [0, 0.5, 1].map((f) => Math.round(max * f));
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(
      `<line x1="${left}" x2="${w - 4}" y1="${y(t)}" y2="${y(t)}" stroke="${COLORS.grid}"/>` +
        `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="10" fill="${COLORS.muted}">${t}</text>`,
    );
  }
  days.forEach((d, i) => {
    const x = left + i * slot + (slot - bar) / 2;
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${y(d.calls).toFixed(1)}" width="${bar.toFixed(1)}" height="${(h - bottom - y(d.calls)).toFixed(1)}" fill="${COLORS.accent}"><title>${esc(d.day)}: ${d.calls} calls, ${d.denied} denied</title></rect>`,
    );
    if (d.denied > 0) {
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(d.denied).toFixed(1)}" width="${bar.toFixed(1)}" height="${(h - bottom - y(d.denied)).toFixed(1)}" fill="${COLORS.deny}"/>`,
      );
    }
    const every = Math.ceil(days.length / 10);
    if (i % every === 0) {
      parts.push(
        `<text x="${(x + bar / 2).toFixed(1)}" y="${h - bottom + 14}" text-anchor="middle" font-size="10" fill="${COLORS.muted}">${esc(d.day.slice(5))}</text>`,
      );
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="Calls per day">${parts.join('')}</svg>`;
}

/** Horizontal bars with the label on the left and the count at the end. */
export function barsSvg(items: Array<{ label: string; value: number; color?: string }>, label: string): string {
  const w = 720;
  const row = 24;
  const left = 230;
  const h = Math.max(row, items.length * row) + 8;
  const max = Math.max(1, ...items.map((i) => i.value));
  const parts = items.map((it, i) => {
    const y = 4 + i * row;
    const bw = ((w - left - 60) * it.value) / max;
    const text = it.label.length > 36 ? `${it.label.slice(0, 35)}…` : it.label;
    return (
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="11" fill="${COLORS.ink}">${esc(text)}</text>` +
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, bw).toFixed(1)}" height="${row - 8}" fill="${it.color ?? COLORS.accent}"/>` +
      `<text x="${(left + bw + 6).toFixed(1)}" y="${y + 15}" font-size="11" fill="${COLORS.muted}">${it.value}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="${esc(label)}">${parts.join('')}</svg>`;
}

const CSS = `
body{font-family:"Helvetica Neue",Arial,sans-serif;color:${COLORS.ink};max-width:1000px;margin:2rem auto;padding:0 1.5rem;line-height:1.45}
header{border-bottom:3px solid ${COLORS.accent};margin-bottom:1.5rem}
h1{color:${COLORS.accent};margin-bottom:.2rem} h2{color:${COLORS.accent};border-bottom:1px solid ${COLORS.grid};padding-bottom:.2rem;margin-top:2.2rem}
h3{margin-bottom:.4rem}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem;font-size:.92rem} dl.meta dt{color:${COLORS.muted}}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0 1rem} th,td{border-bottom:1px solid ${COLORS.grid};padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f0f4f8} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.kpis{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0} .kpi{border:1px solid ${COLORS.grid};border-radius:6px;padding:.5rem .9rem;min-width:7rem}
.kpi b{display:block;font-size:1.4rem;color:${COLORS.accent}} .kpi span{font-size:.8rem;color:${COLORS.muted}}
.status{font-weight:bold;font-size:.78rem;padding:.1rem .4rem;border-radius:4px;color:#fff}
.empty{color:${COLORS.muted};font-style:italic} code{font-size:.8rem;word-break:break-all}
footer{margin-top:3rem;font-size:.8rem;color:${COLORS.muted};border-top:1px solid ${COLORS.grid};padding-top:.5rem}
@media print{body{margin:0} h2{break-after:avoid} table,svg{break-inside:avoid}}
`;

function status(s: keyof typeof STATUS_LABEL): string {
  return `<span class="status" style="background:${COLORS[s]}">${STATUS_LABEL[s]}</span>`;
}

export function renderHtml(r: ComplianceReport): string {
  const s = SECTION_TITLES;
  const html = (v: string) => ({ html: v });
  const kpi = (n: number, label: string) => `<div class="kpi"><b>${n}</b><span>${esc(label)}</span></div>`;
  const withCost = r.costs !== undefined;
  const body = `
<header>
<h1>${esc(r.title)}</h1>
<dl class="meta">
<dt>Period</dt><dd>${esc(r.period.text)} (UTC)</dd>
<dt>Scope</dt><dd>${esc(r.scope.tenant ? `tenant ${r.scope.tenant}` : 'all tenants')}</dd>
${r.framework ? `<dt>Framework</dt><dd>${esc(r.framework.name)}</dd>` : ''}
<dt>Configuration</dt><dd>${esc(r.config.path)}<br><code>${esc(r.config.version)}</code> (declared ${esc(r.config.declaredVersion)})</dd>
<dt>Generated</dt><dd>${esc(r.generatedAt)}</dd>
</dl>
</header>
<section><h2>1. ${s[0]}</h2>
<div class="kpis">${kpi(r.summary.calls, 'calls')}${kpi(r.summary.allowed, 'allowed')}${kpi(r.summary.governed, 'governed')}${kpi(r.summary.denied, 'denied')}${kpi(r.summary.errors, 'errors')}${kpi(r.summary.tenants, 'tenants')}${kpi(r.summary.users, 'users')}${kpi(r.summary.events, 'audit events')}</div>
${table(
  ['Control', 'Check', 'Status', 'Evidence'],
  r.findings.map((f) => [f.control, f.title, html(status(f.status)), f.evidence]),
)}
</section>
<section><h2>2. ${s[1]}</h2>
<h3>Calls per day <small style="color:${COLORS.deny}">(red: denied)</small></h3>
${dailyChartSvg(r.charts.callsPerDay)}
<h3>Decisions</h3>
${barsSvg(
  r.charts.decisions.map((d) => ({ label: d.decision, value: d.count, color: decisionColor(d.decision) })),
  'Decisions',
)}
<h3>Top tools</h3>
${
  r.charts.topTools.length
    ? barsSvg(
        r.charts.topTools.map((t) => ({ label: t.tool, value: t.count })),
        'Top tools',
      )
    : '<p class="empty">No calls in this period.</p>'
}
</section>
<section><h2>3. ${s[2]}</h2>
${table(
  ['Setting', 'Value'],
  r.accessControl.settings.map((x) => [x.name, x.value]),
)}
<h3>Policies in force</h3>
${table(
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
  'No policies configured.',
)}
<h3>Configuration versions seen in the audit records</h3>
${table(
  ['Version (sha256)', 'First seen', 'Last seen', 'Events', 'Current'],
  r.accessControl.configVersions.map((v) => [
    html(`<code>${esc(v.version)}</code>`),
    shortTime(v.firstSeen),
    shortTime(v.lastSeen),
    v.events,
    v.current ? 'yes' : '',
  ]),
  undefined,
  [3],
)}
<h3>Servers under governance</h3>
${table(
  ['Server', 'Transport', 'Audit level', 'Local only'],
  r.accessControl.servers.map((x) => [x.name, x.transport, x.auditLevel, x.localOnly ? 'yes' : 'no']),
  'No servers configured.',
)}
</section>
<section><h2>4. ${s[3]}</h2>
<p>${r.approvals.total} governed operation(s): ${r.approvals.approved} approved, ${r.approvals.rejected} rejected, ${r.approvals.expired} expired, ${r.approvals.pending} pending.</p>
${table(
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
)}
</section>
<section><h2>5. ${s[4]}</h2>
${table(
  ['Policy', 'Reason', 'Count', 'Last seen'],
  r.denials.byReason.map((d) => [d.policy, d.reason, d.count, shortTime(d.lastSeen)]),
  undefined,
  [2],
)}
</section>
<section><h2>6. ${s[5]}</h2>
${table(
  ['Kind', 'Policy', 'Tenant', 'Enforced', 'Warned', 'Last seen'],
  r.limits.map((l) => [l.kind.replace('_', ' '), l.policy, l.tenant, l.enforced, l.warned, shortTime(l.lastSeen)]),
  undefined,
  [3, 4],
)}
</section>
<section><h2>7. ${s[6]}</h2>
<p>${r.pii.events} event(s) with PII detected; redaction before storage is ${r.pii.redactionOnStorage ? 'on' : 'off'}. Only the kind and count of each finding is recorded, never the value.</p>
${table(
  ['PII kind', 'Findings'],
  r.pii.byKind.map((k) => [k.kind, k.count]),
  undefined,
  [1],
)}
</section>
<section><h2>8. ${s[7]}</h2>
<p>${status(r.integrity.status === 'verified' ? 'pass' : r.integrity.status === 'problems found' ? 'fail' : 'attention')} <b>${esc(r.integrity.status)}</b>: ${esc(r.integrity.detail)}</p>
${table(
  ['Tenant', 'Events', 'Checkpoints', 'Problems'],
  r.integrity.tenants.map((t) => [t.tenant, t.events, t.checkpoints, t.problems.join('; ') || 'none']),
  '',
  [1, 2],
)}
</section>
<section><h2>9. ${s[8]}</h2>
${table(['Retention', 'Cut-off', 'Oldest event', 'Older than cut-off', 'Status', 'Encrypted at rest'], [[`${r.retention.retentionDays} days`, shortTime(r.retention.cutoff), r.retention.oldestEvent ? shortTime(r.retention.oldestEvent) : '-', r.retention.expiredEvents, r.retention.status, r.retention.encryptedAtRest ? 'yes' : 'no']])}
</section>
<section><h2>10. ${s[9]}</h2>
${table(
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
  undefined,
  [1, 2, 3, 4, 5, 6, 7, 8],
)}
</section>
<footer>Generated by ATOM-GOV from the audit trail and the configuration named above. Figures cover the period in UTC.</footer>`;
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)} ${esc(r.period.text)}</title><style>${CSS}</style></head><body>${body}\n</body></html>\n`;
}
