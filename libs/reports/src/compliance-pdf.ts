// PDF rendering of the compliance report with pdfkit: cover block, findings, bar charts drawn with pdfkit's vector
// primitives, tables that wrap and repeat their header across pages, and a page footer "page X of Y".
import PDFDocument from 'pdfkit';
import { COLORS, decisionColor } from './compliance-html.js';
import { SECTION_TITLES, shortTime, STATUS_LABEL } from './compliance-markdown.js';
import type { ComplianceReport } from './compliance-report.js';

type Doc = PDFKit.PDFDocument;

const MARGIN = 50;
const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';

interface Column {
  title: string;
  /** Share of the content width. */
  width: number;
  numeric?: boolean;
  /** Text colour of a cell from its value (e.g. PASS green, FAIL red). */
  colorOf?: (value: string) => string | undefined;
}

export async function renderPdf(r: ComplianceReport): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN + 10, left: MARGIN, right: MARGIN },
    bufferPages: true,
    info: {
      Title: `${r.title} ${r.period.text}`,
      Author: 'ATOM-GOV',
      Subject: r.framework ? `${r.framework.name} evidence` : 'MCP governance evidence',
      CreationDate: new Date(r.generatedAt),
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  draw(doc, r);
  footers(doc, r);
  doc.end();
  return done;
}

function contentWidth(doc: Doc): number {
  return doc.page.width - MARGIN * 2;
}

function bottomLimit(doc: Doc): number {
  return doc.page.height - doc.page.margins.bottom;
}

function ensureSpace(doc: Doc, height: number): void {
  if (doc.y + height > bottomLimit(doc)) doc.addPage();
}

function heading(doc: Doc, n: number, title: string): void {
  ensureSpace(doc, 80);
  doc.moveDown(0.8);
  const y = doc.y;
  doc.font(BOLD).fontSize(15).fillColor(COLORS.accent).text(`${n}. ${title}`, MARGIN, y);
  const after = doc.y + 2;
  doc
    .moveTo(MARGIN, after)
    .lineTo(MARGIN + contentWidth(doc), after)
    .lineWidth(1)
    .strokeColor(COLORS.grid)
    .stroke();
  doc.y = after + 8;
  doc.font(FONT).fontSize(9).fillColor(COLORS.ink);
}

function subheading(doc: Doc, title: string): void {
  ensureSpace(doc, 50);
  doc.moveDown(0.4);
  doc.font(BOLD).fontSize(11).fillColor(COLORS.ink).text(title, MARGIN, doc.y);
  doc.moveDown(0.3);
  doc.font(FONT).fontSize(9);
}

function paragraph(doc: Doc, text: string, color: string = COLORS.ink): void {
  doc
    .font(FONT)
    .fontSize(9)
    .fillColor(color)
    .text(text, MARGIN, doc.y, { width: contentWidth(doc) });
  doc.moveDown(0.4);
}

/** A table whose rows grow to their tallest cell; the header repeats on each new page. */
function table(doc: Doc, columns: Column[], rows: string[][], empty = 'None in this period.'): void {
  if (rows.length === 0) {
    paragraph(doc, empty, COLORS.muted);
    return;
  }
  const width = contentWidth(doc);
  const widths = columns.map((c) => c.width * width);
  const pad = 3;
  const size = 8;
  const rowHeight = (cells: string[], font: string): number => {
    doc.font(font).fontSize(size);
    return Math.max(...cells.map((c, i) => doc.heightOfString(c, { width: widths[i]! - pad * 2 }))) + pad * 2;
  };
  const drawRow = (cells: string[], header: boolean, shade: boolean): void => {
    const font = header ? BOLD : FONT;
    const h = rowHeight(cells, font);
    const y = doc.y;
    if (header || shade) {
      doc.rect(MARGIN, y, width, h).fill(header ? '#e6edf4' : '#f7f9fb');
    }
    let x = MARGIN;
    cells.forEach((c, i) => {
      const color = header ? undefined : columns[i]!.colorOf?.(c);
      doc
        .font(color ? BOLD : font)
        .fontSize(size)
        .fillColor(color ?? COLORS.ink)
        .text(c, x + pad, y + pad, { width: widths[i]! - pad * 2, align: columns[i]!.numeric ? 'right' : 'left' });
      x += widths[i]!;
    });
    doc
      .moveTo(MARGIN, y + h)
      .lineTo(MARGIN + width, y + h)
      .lineWidth(0.5)
      .strokeColor(COLORS.grid)
      .stroke();
    doc.x = MARGIN;
    doc.y = y + h;
  };
  const head = columns.map((c) => c.title);
  ensureSpace(doc, rowHeight(head, BOLD) + rowHeight(rows[0]!, FONT));
  drawRow(head, true, false);
  rows.forEach((row, i) => {
    if (doc.y + rowHeight(row, FONT) > bottomLimit(doc)) {
      doc.addPage();
      drawRow(head, true, false);
    }
    drawRow(row, false, i % 2 === 1);
  });
  doc.moveDown(0.6);
}

/** Vertical bars per day, denied share in red, with a light grid and a few axis labels. */
function dailyChart(doc: Doc, days: ComplianceReport['charts']['callsPerDay']): void {
  const h = 150;
  ensureSpace(doc, h + 30);
  const left = MARGIN + 30;
  const width = contentWidth(doc) - 30;
  const top = doc.y + 5;
  const base = top + h;
  const max = Math.max(1, ...days.map((d) => d.calls));
  const y = (v: number) => base - (v / max) * h;
  doc.font(FONT).fontSize(7).fillColor(COLORS.muted);
  for (const f of [0, 0.5, 1]) {
    const v = Math.round(max * f);
    doc
      .moveTo(left, y(v))
      .lineTo(left + width, y(v))
      .lineWidth(0.5)
      .strokeColor(COLORS.grid)
      .stroke();
    doc.text(String(v), MARGIN, y(v) - 3, { width: 26, align: 'right' });
  }
  const slot = width / Math.max(1, days.length);
  const bar = Math.max(1, slot * 0.7);
  const every = Math.ceil(days.length / 10);
  days.forEach((d, i) => {
    const x = left + i * slot + (slot - bar) / 2;
    if (d.calls > 0) doc.rect(x, y(d.calls), bar, base - y(d.calls)).fill(COLORS.accent);
    if (d.denied > 0) doc.rect(x, y(d.denied), bar, base - y(d.denied)).fill(COLORS.deny);
    if (i % every === 0) {
      doc
        .fillColor(COLORS.muted)
        .fontSize(7)
        .text(d.day.slice(5), x - 10, base + 3, { width: bar + 20, align: 'center' });
    }
  });
  doc.x = MARGIN;
  doc.y = base + 16;
  doc.fontSize(7).fillColor(COLORS.muted).text('Blue: calls. Red: denied calls.', MARGIN, doc.y);
  doc.moveDown(0.6);
}

/** Horizontal bars: label, bar, count. */
function bars(doc: Doc, items: Array<{ label: string; value: number; color?: string }>): void {
  if (items.length === 0) {
    paragraph(doc, 'No calls in this period.', COLORS.muted);
    return;
  }
  const row = 15;
  ensureSpace(doc, items.length * row + 10);
  const labelWidth = 190;
  const left = MARGIN + labelWidth + 8;
  const width = contentWidth(doc) - labelWidth - 50;
  const max = Math.max(1, ...items.map((i) => i.value));
  let y = doc.y;
  for (const it of items) {
    const bw = Math.max(1, (width * it.value) / max);
    const label = it.label.length > 42 ? `${it.label.slice(0, 41)}...` : it.label;
    doc
      .font(FONT)
      .fontSize(8)
      .fillColor(COLORS.ink)
      .text(label, MARGIN, y + 3, { width: labelWidth, align: 'right', lineBreak: false });
    doc.rect(left, y + 2, bw, row - 5).fill(it.color ?? COLORS.accent);
    doc.fillColor(COLORS.muted).text(String(it.value), left + bw + 5, y + 3, { lineBreak: false });
    y += row;
  }
  doc.x = MARGIN;
  doc.y = y + 8;
}

function kpis(doc: Doc, items: Array<[number, string]>): void {
  const gap = 6;
  const w = (contentWidth(doc) - gap * (items.length - 1)) / items.length;
  const y = doc.y;
  items.forEach(([n, label], i) => {
    const x = MARGIN + i * (w + gap);
    doc.roundedRect(x, y, w, 40, 4).lineWidth(0.8).strokeColor(COLORS.grid).stroke();
    doc
      .font(BOLD)
      .fontSize(14)
      .fillColor(COLORS.accent)
      .text(String(n), x, y + 6, { width: w, align: 'center' });
    doc
      .font(FONT)
      .fontSize(7)
      .fillColor(COLORS.muted)
      .text(label, x, y + 26, { width: w, align: 'center' });
  });
  doc.x = MARGIN;
  doc.y = y + 50;
}

function statusBadge(doc: Doc, status: keyof typeof STATUS_LABEL, text: string): void {
  ensureSpace(doc, 24);
  const y = doc.y;
  const label = STATUS_LABEL[status];
  doc.font(BOLD).fontSize(9);
  const w = doc.widthOfString(label) + 10;
  doc.roundedRect(MARGIN, y, w, 14, 3).fill(COLORS[status]);
  doc.fillColor('#ffffff').text(label, MARGIN + 5, y + 3, { lineBreak: false });
  doc
    .font(FONT)
    .fontSize(9)
    .fillColor(COLORS.ink)
    .text(text, MARGIN + w + 8, y + 3, { width: contentWidth(doc) - w - 8 });
  doc.x = MARGIN;
  doc.moveDown(0.6);
}

const LABEL_TO_STATUS = Object.fromEntries(Object.entries(STATUS_LABEL).map(([k, v]) => [v, k])) as Record<
  string,
  keyof typeof STATUS_LABEL
>;

function statusColor(label: string): string | undefined {
  const status = LABEL_TO_STATUS[label];
  return status ? COLORS[status] : undefined;
}

function draw(doc: Doc, r: ComplianceReport): void {
  const s = SECTION_TITLES;
  // Cover block.
  doc.rect(0, 0, doc.page.width, 8).fill(COLORS.accent);
  doc.font(BOLD).fontSize(22).fillColor(COLORS.accent).text(r.title, MARGIN, MARGIN);
  doc.moveDown(0.2);
  doc
    .font(FONT)
    .fontSize(11)
    .fillColor(COLORS.muted)
    .text(r.framework ? `Evidence for ${r.framework.name}` : 'Evidence of MCP governance controls');
  doc.moveDown(0.8);
  const meta: Array<[string, string]> = [
    ['Period', `${r.period.text} (UTC)`],
    ['Scope', r.scope.tenant ? `tenant ${r.scope.tenant}` : 'all tenants'],
    ['Configuration', r.config.path],
    ['Config version', `${r.config.version} (declared ${r.config.declaredVersion})`],
    ['Generated', r.generatedAt],
  ];
  for (const [k, v] of meta) {
    const y = doc.y;
    doc.font(BOLD).fontSize(9).fillColor(COLORS.muted).text(k, MARGIN, y, { width: 90 });
    doc
      .font(FONT)
      .fontSize(9)
      .fillColor(COLORS.ink)
      .text(v, MARGIN + 95, y, { width: contentWidth(doc) - 95 });
    doc.moveDown(0.15);
  }
  doc.moveDown(0.6);

  heading(doc, 1, s[0]);
  kpis(doc, [
    [r.summary.calls, 'calls'],
    [r.summary.allowed, 'allowed'],
    [r.summary.governed, 'governed'],
    [r.summary.denied, 'denied'],
    [r.summary.errors, 'errors'],
    [r.summary.tenants, 'tenants'],
    [r.summary.users, 'users'],
  ]);
  table(
    doc,
    [
      { title: 'Control', width: 0.14 },
      { title: 'Check', width: 0.26 },
      { title: 'Status', width: 0.12, colorOf: statusColor },
      { title: 'Evidence', width: 0.48 },
    ],
    r.findings.map((f) => [f.control, f.title, STATUS_LABEL[f.status], f.evidence]),
  );

  heading(doc, 2, s[1]);
  subheading(doc, 'Calls per day');
  dailyChart(doc, r.charts.callsPerDay);
  subheading(doc, 'Decisions');
  bars(
    doc,
    r.charts.decisions.map((d) => ({ label: d.decision, value: d.count, color: decisionColor(d.decision) })),
  );
  subheading(doc, 'Top tools');
  bars(
    doc,
    r.charts.topTools.map((t) => ({ label: t.tool, value: t.count })),
  );

  heading(doc, 3, s[2]);
  table(
    doc,
    [
      { title: 'Setting', width: 0.5 },
      { title: 'Value', width: 0.5 },
    ],
    r.accessControl.settings.map((x) => [x.name, x.value]),
  );
  subheading(doc, 'Policies in force');
  table(
    doc,
    [
      { title: 'Policy', width: 0.18 },
      { title: 'Form', width: 0.1 },
      { title: 'Servers', width: 0.14 },
      { title: 'Controls', width: 0.26 },
      { title: 'Enforce', width: 0.08 },
      { title: 'On', width: 0.05 },
      { title: 'Source', width: 0.19 },
    ],
    r.accessControl.policies.map((p) => [
      p.name,
      p.kind,
      p.servers,
      p.controls,
      p.enforcement,
      p.enabled ? 'yes' : 'no',
      p.source.split('/').slice(-2).join('/'),
    ]),
    'No policies configured.',
  );
  subheading(doc, 'Configuration versions seen in the audit records');
  table(
    doc,
    [
      { title: 'Version (sha256)', width: 0.46 },
      { title: 'First seen', width: 0.17 },
      { title: 'Last seen', width: 0.17 },
      { title: 'Events', width: 0.1, numeric: true },
      { title: 'Current', width: 0.1 },
    ],
    r.accessControl.configVersions.map((v) => [
      v.version,
      shortTime(v.firstSeen),
      shortTime(v.lastSeen),
      String(v.events),
      v.current ? 'yes' : '',
    ]),
  );
  subheading(doc, 'Servers under governance');
  table(
    doc,
    [
      { title: 'Server', width: 0.4 },
      { title: 'Transport', width: 0.2 },
      { title: 'Audit level', width: 0.2 },
      { title: 'Local only', width: 0.2 },
    ],
    r.accessControl.servers.map((x) => [x.name, x.transport, x.auditLevel, x.localOnly ? 'yes' : 'no']),
    'No servers configured.',
  );

  heading(doc, 4, s[3]);
  paragraph(
    doc,
    `${r.approvals.total} governed operation(s): ${r.approvals.approved} approved, ${r.approvals.rejected} rejected, ` +
      `${r.approvals.expired} expired, ${r.approvals.pending} pending.`,
  );
  table(
    doc,
    [
      { title: 'Requested', width: 0.12 },
      { title: 'Operation', width: 0.14 },
      { title: 'Tenant / requester', width: 0.16 },
      { title: 'Tool', width: 0.14 },
      { title: 'Policy', width: 0.1 },
      { title: 'Result', width: 0.08 },
      { title: 'Approvers (when, how)', width: 0.26 },
    ],
    r.approvals.items.map((a) => [
      shortTime(a.requestedAt),
      a.operationId,
      `${a.tenant} / ${a.requester}`,
      `${a.server} / ${a.tool}`,
      a.policy,
      a.result,
      a.votes
        .map(
          (v) =>
            `${v.decision} by ${v.approver} at ${shortTime(v.at)} via ${v.channel}${v.reason ? ` (${v.reason})` : ''}`,
        )
        .join('\n') || '-',
    ]),
  );

  heading(doc, 5, s[4]);
  table(
    doc,
    [
      { title: 'Policy', width: 0.2 },
      { title: 'Reason', width: 0.52 },
      { title: 'Count', width: 0.1, numeric: true },
      { title: 'Last seen', width: 0.18 },
    ],
    r.denials.byReason.map((d) => [d.policy, d.reason, String(d.count), shortTime(d.lastSeen)]),
  );

  heading(doc, 6, s[5]);
  table(
    doc,
    [
      { title: 'Kind', width: 0.14 },
      { title: 'Policy', width: 0.24 },
      { title: 'Tenant', width: 0.18 },
      { title: 'Enforced', width: 0.12, numeric: true },
      { title: 'Warned', width: 0.12, numeric: true },
      { title: 'Last seen', width: 0.2 },
    ],
    r.limits.map((l) => [
      l.kind.replace('_', ' '),
      l.policy,
      l.tenant,
      String(l.enforced),
      String(l.warned),
      shortTime(l.lastSeen),
    ]),
  );

  heading(doc, 7, s[6]);
  paragraph(
    doc,
    `${r.pii.events} event(s) with PII detected; redaction before storage is ${r.pii.redactionOnStorage ? 'on' : 'off'}. ` +
      'Only the kind and count of each finding is recorded, never the value.',
  );
  if (r.pii.byKind.length > 0)
    bars(
      doc,
      r.pii.byKind.map((k) => ({ label: k.kind, value: k.count, color: COLORS.governed })),
    );

  heading(doc, 8, s[7]);
  statusBadge(
    doc,
    r.integrity.status === 'verified' ? 'pass' : r.integrity.status === 'problems found' ? 'fail' : 'attention',
    `${r.integrity.status}: ${r.integrity.detail}`,
  );
  if (r.integrity.tenants.length > 0) {
    table(
      doc,
      [
        { title: 'Tenant', width: 0.2 },
        { title: 'Events', width: 0.12, numeric: true },
        { title: 'Checkpoints', width: 0.14, numeric: true },
        { title: 'Problems', width: 0.54 },
      ],
      r.integrity.tenants.map((t) => [
        t.tenant,
        String(t.events),
        String(t.checkpoints),
        t.problems.join('\n') || 'none',
      ]),
    );
  }

  heading(doc, 9, s[8]);
  table(
    doc,
    [
      { title: 'Retention', width: 0.14 },
      { title: 'Cut-off', width: 0.18 },
      { title: 'Oldest event', width: 0.18 },
      { title: 'Older than cut-off', width: 0.18, numeric: true },
      { title: 'Status', width: 0.16 },
      { title: 'Encrypted', width: 0.16 },
    ],
    [
      [
        `${r.retention.retentionDays} days`,
        shortTime(r.retention.cutoff),
        r.retention.oldestEvent ? shortTime(r.retention.oldestEvent) : '-',
        String(r.retention.expiredEvents),
        r.retention.status,
        r.retention.encryptedAtRest ? 'yes' : 'no',
      ],
    ],
  );

  heading(doc, 10, s[9]);
  const withCost = r.costs !== undefined;
  const cols: Column[] = [
    { title: 'Tenant', width: withCost ? 0.2 : 0.24 },
    { title: 'Calls', width: 0.1, numeric: true },
    { title: 'Allowed', width: 0.1, numeric: true },
    { title: 'Governed', width: 0.1, numeric: true },
    { title: 'Denied', width: 0.1, numeric: true },
    { title: 'Errors', width: 0.09, numeric: true },
    { title: 'Users', width: 0.08, numeric: true },
    { title: 'PII events', width: withCost ? 0.09 : 0.19, numeric: true },
    ...(withCost ? [{ title: `Cost ${r.costs!.currency}`, width: 0.14, numeric: true }] : []),
  ];
  table(
    doc,
    cols,
    r.tenants.map((t) => [
      t.tenant,
      String(t.calls),
      String(t.allowed),
      String(t.governed),
      String(t.denied),
      String(t.errors),
      String(t.users),
      String(t.piiEvents),
      ...(withCost ? [(t.cost ?? 0).toFixed(4)] : []),
    ]),
  );
}

/** "ATOM-GOV compliance report · period · page X of Y" on every page, once the page count is known. */
function footers(doc: Doc, r: ComplianceReport): void {
  const range = doc.bufferedPageRange();
  for (let i = 0; i < range.count; i++) {
    doc.switchToPage(range.start + i);
    // Writing into the bottom margin: lift it for the footer line so pdfkit does not add a page.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc
      .font(FONT)
      .fontSize(7)
      .fillColor(COLORS.muted)
      .text(
        `ATOM-GOV compliance report · ${r.period.text}${r.scope.tenant ? ` · tenant ${r.scope.tenant}` : ''} · config ${r.config.version.slice(0, 12)} · page ${i + 1} of ${range.count}`,
        MARGIN,
        doc.page.height - 35,
        { width: contentWidth(doc), align: 'center', lineBreak: false },
      );
    doc.page.margins.bottom = bottom;
  }
}
