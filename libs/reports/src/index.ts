export {
  EXPORT_COLUMNS,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportOptions,
  type ExportResult,
  type ExportSource,
  exportAuditEvents,
  readOwnGpgKey,
  readRecipientKeys,
} from './audit-export.js';
export { SECTION_TITLES } from './compliance-markdown.js';
export {
  buildComplianceReport,
  type ComplianceOptions,
  type ComplianceReport,
  type Finding,
  type FindingStatus,
  FRAMEWORKS,
  type Framework,
  type IntegrityResult,
  parseFramework,
  parseReportFormat,
  REPORT_FORMATS,
  type ReportFormat,
  type ReportSource,
} from './compliance-report.js';
export { renderComplianceReport } from './compliance-render.js';
export {
  COST_FORMATS,
  CostAccumulator,
  type CostFormat,
  type CostLine,
  type CostReport,
  computeCosts,
  parseCostFormat,
  ratesFor,
  renderCosts,
  type TenantCost,
} from './costs.js';
export {
  denialReasonOf,
  isCall,
  isExecuted,
  isWorkflowRecord,
  limitEventOf,
  notesOf,
  piiFindingsOf,
  reportedUnitsOf,
} from './event-facts.js';
export { plainTable, renderPlainTable } from './plain-table.js';
export { describePeriod, parsePeriod, type ReportPeriod } from './period.js';
export { ReportError } from './report-error.js';
