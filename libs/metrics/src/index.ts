export {
  createMetrics,
  type DecisionLabel,
  GovMetrics,
  type GovMetricsOptions,
  metricLabel,
  type OperationSample,
} from './gov-metrics.js';
export {
  type CallStart,
  CallTracer,
  type CallTracerOptions,
  type TracedOperation,
  WORKFLOW_ID_ATTRIBUTE,
} from './call-tracer.js';
export { createOtlpTraceExporter, enableTracePropagation, type OtlpExportSettings } from './otlp-exporter.js';
export {
  type AuditHealthView,
  type FeedResult,
  type PendingApprovalsSample,
  type QuotaUsageSample,
  ScrapeFeed,
  type ScrapeFeedOptions,
} from './scrape-feed.js';
export type { SpanExporter } from '@opentelemetry/sdk-trace-base';
