export {
  EXPORT_COLUMNS,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportOptions,
  type ExportResult,
  exportAuditEvents,
  readRecipientKeys,
} from './audit-export.js';
export { ReportError } from './report-error.js';
