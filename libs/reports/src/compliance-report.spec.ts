import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditStore, openAuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, loadConfig } from '@atom-gov/config';
import {
  buildComplianceReport,
  type ComplianceReport,
  parsePeriod,
  renderComplianceReport,
  SECTION_TITLES,
} from './index.js';
import { FIXTURE_COSTS, fixtureEvents, writeFixtureConfig } from './report-fixtures.js';

describe('compliance report over a real SQLite audit trail', () => {
  let store: AuditStore;
  let config: AtomGovConfig;
  let dir: string;
  let report: ComplianceReport;
  const now = new Date('2026-11-25T09:00:00Z');

  beforeAll(async () => {
    const fx = writeFixtureConfig();
    dir = fx.dir;
    config = await loadConfig({ configPath: fx.configPath, dataDir: fx.dataDir, env: { HOME: dir } });
    store = await openAuditStore({ sqlitePath: config.database.sqlitePath });
    await Promise.all(fixtureEvents(config.version).map((e) => store.append(e)));
    report = await buildComplianceReport(store, { config, period: parsePeriod('2026-10'), framework: 'hipaa', now });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts calls once (not the approval workflow records) and summarises decisions per tenant', () => {
    expect(report.summary).toMatchObject({ calls: 19, denied: 4, governed: 1, tenants: 2, servers: 2 });
    expect(report.summary.allowed).toBe(14);
    expect(report.tenants.map((t) => [t.tenant, t.calls, t.denied, t.users, t.piiEvents])).toEqual([
      ['acme', 14, 1, 3, 0],
      ['globex', 5, 3, 1, 1],
    ]);
    expect(report.tenants[0]!.cost).toBeCloseTo(FIXTURE_COSTS.acme, 9);
    expect(report.charts.callsPerDay).toHaveLength(31);
    expect(report.charts.callsPerDay[4]).toEqual({ day: '2026-10-05', calls: 4, denied: 3 });
    expect(report.charts.topTools[0]).toEqual({ tool: 'perplexity_mcp / search', count: 15 });
  });

  it('shows policies in force with both config versions seen in the records', () => {
    expect(report.accessControl.policies.map((p) => p.name)).toContain('production_deployment');
    const approval = report.accessControl.policies.find((p) => p.name === 'production_deployment')!;
    expect(approval.controls).toBe('approval 2 of ops-lead@company.com, cto@company.com');
    expect(report.accessControl.configVersions.map((v) => [v.version, v.current])).toEqual([
      ['0'.repeat(64), false],
      [config.version, true],
    ]);
  });

  it('tells each approval story with approvers, channels and timestamps', () => {
    expect(report.approvals).toMatchObject({ total: 2, approved: 1, rejected: 1 });
    const approved = report.approvals.items.find((a) => a.operationId === 'op-approved')!;
    expect(approved.result).toBe('approved');
    expect(approved.votes).toEqual([
      { approver: 'ops-lead@company.com', decision: 'approve', channel: 'slack', at: '2026-10-07T10:05:00.000Z' },
      {
        approver: 'cto@company.com',
        decision: 'approve',
        channel: 'email',
        at: '2026-10-07T10:09:00.000Z',
        reason: 'ok for release 42',
      },
    ]);
    const rejected = report.approvals.items.find((a) => a.operationId === 'op-rejected')!;
    expect(rejected).toMatchObject({ result: 'rejected', decidedAt: '2026-10-08T11:02:00.000Z' });
  });

  it('groups denials by reason, counts rate-limit events and PII kinds', () => {
    expect(report.denials.byReason[0]).toMatchObject({
      policy: 'perplexity_mcp.rate_limit',
      reason: 'rate limit #/hour per user exceeded',
      count: 3,
    });
    expect(report.limits).toEqual([
      expect.objectContaining({
        kind: 'rate_limit',
        policy: 'perplexity_mcp.rate_limit',
        tenant: 'globex',
        enforced: 3,
      }),
    ]);
    expect(report.pii.byKind).toEqual([
      { kind: 'email', count: 2 },
      { kind: 'ssn', count: 1 },
    ]);
  });

  it('reports retention against the framework and integrity as not available when the store cannot verify', () => {
    expect(report.retention).toMatchObject({ retentionDays: 2555, expiredEvents: 1, status: 'purge due' });
    expect(report.retention.oldestEvent).toBe('2018-01-01T00:00:00.000Z');
    const retention = report.findings.find((f) => f.title === 'Audit retention')!;
    expect(retention).toMatchObject({ control: '§164.316(b)(2)(i)', status: 'attention' });
    const integrity = report.findings.find((f) => f.title.startsWith('Audit trail integrity'))!;
    if (typeof (store as { verify?: unknown }).verify === 'function') {
      expect(report.integrity.status).toBe('verified');
      expect(integrity.status).toBe('pass');
    } else {
      expect(integrity.status).toBe('attention');
      expect(report.integrity.status).toBe('not available');
    }
  });

  it('renders Markdown and HTML with every section, HTML with inline SVG charts and escaped values', async () => {
    const md = (await renderComplianceReport(report, 'md')).toString();
    const html = (await renderComplianceReport(report, 'html')).toString();
    for (const title of SECTION_TITLES) {
      expect(md).toContain(title);
      expect(html).toContain(title);
    }
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script/i);
    expect(md).toContain('| §164.312(b) | Every MCP operation is recorded | PASS |');
    const json = JSON.parse((await renderComplianceReport(report, 'json')).toString()) as ComplianceReport;
    expect(json.summary).toEqual(report.summary);
  });

  it('renders a PDF whose pages poppler turns into images and text with every section', async () => {
    const pdf = await renderComplianceReport(report, 'pdf');
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(dir, 'report.pdf');
    writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    for (const title of SECTION_TITLES) expect(text).toContain(title);
    expect(text).toContain('ATOM-GOV Compliance Report');
    expect(text).toContain('HIPAA Security Rule');
    expect(text).toContain('approve by cto@company.com');
    expect(text).toMatch(/page 1 of \d+/);
    const pages = Number(/page 1 of (\d+)/.exec(text)![1]);
    execFileSync('pdftoppm', ['-png', '-r', '50', file, join(dir, 'page')]);
    const pngs = readdirSync(dir).filter((f) => /^page-\d+\.png$/.test(f));
    expect(pngs).toHaveLength(pages);
    for (const png of pngs) {
      const bytes = readFileSync(join(dir, png));
      expect(bytes.subarray(1, 4).toString()).toBe('PNG');
      expect(statSync(join(dir, png)).size).toBeGreaterThan(2000);
    }
  });
});
