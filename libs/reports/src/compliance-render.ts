import { renderHtml } from './compliance-html.js';
import { renderMarkdown } from './compliance-markdown.js';
import { renderPdf } from './compliance-pdf.js';
import type { ComplianceReport, ReportFormat } from './compliance-report.js';

/** One model, four renderings; PDF is binary, the others UTF-8 text. */
export async function renderComplianceReport(report: ComplianceReport, format: ReportFormat): Promise<Buffer> {
  switch (format) {
    case 'json':
      return Buffer.from(`${JSON.stringify(report, null, 2)}\n`);
    case 'md':
      return Buffer.from(renderMarkdown(report));
    case 'html':
      return Buffer.from(renderHtml(report));
    case 'pdf':
      return renderPdf(report);
  }
}
