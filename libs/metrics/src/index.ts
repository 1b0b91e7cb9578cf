export {
  createMetrics,
  type DecisionLabel,
  GovMetrics,
  type GovMetricsOptions,
  metricLabel,
  type OperationSample,
} from './gov-metrics.js';
export { CallTracer, type CallTracerOptions, type TracedOperation, WORKFLOW_ID_ATTRIBUTE } from './call-tracer.js';
export type { SpanExporter } from '@opentelemetry/sdk-trace-base';
