// One OpenTelemetry span per MCP request through the gateway. With an exporter given, the gateway owns a tracer
// provider for it; without one it uses the global OpenTelemetry API, which records nothing unless the process
// registered an SDK (e.g. the OpenTelemetry Node SDK preloaded with NODE_OPTIONS), so tracing costs nothing
// when nobody configured it. Governed calls carry their Temporal workflow id (= operation id), which is how the
// Temporal UI and `atom-gov audit show` find the same operation.
import { SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { OperationSample } from './gov-metrics.js';
import { metricLabel } from './gov-metrics.js';

export interface CallTracerOptions {
  /** Where spans go; absent: the global OpenTelemetry API (a no-op unless an SDK is registered). */
  exporter?: SpanExporter;
  /** Batch exports (default true); tests use false to see each span as it ends. */
  batch?: boolean;
}

export interface TracedOperation extends OperationSample {
  /** When the request arrived. */
  start: Date;
  policy?: string;
  rules?: readonly string[];
  /** Governed calls: the operation id, which is the Temporal workflow id. */
  operationId?: string;
  governed?: boolean;
  transport?: string;
  errorMessage?: string;
}

export const WORKFLOW_ID_ATTRIBUTE = 'temporal.workflow_id';

export class CallTracer {
  private readonly tracer: Tracer;
  private readonly provider?: BasicTracerProvider;

  constructor(opts: CallTracerOptions = {}) {
    if (opts.exporter) {
      const processor =
        opts.batch === false ? new SimpleSpanProcessor(opts.exporter) : new BatchSpanProcessor(opts.exporter);
      this.provider = new BasicTracerProvider({ spanProcessors: [processor] });
      this.tracer = this.provider.getTracer('atom-gov-gateway');
    } else {
      this.tracer = trace.getTracer('atom-gov-gateway');
    }
  }

  /** Records a finished request as one span (start and end times taken from the record, not from now). */
  record(op: TracedOperation): void {
    const span = this.tracer.startSpan(`${op.method} ${op.server}`, { kind: SpanKind.SERVER, startTime: op.start });
    // Without an SDK the span is a no-op: skip building attributes on the hot path.
    if (!span.isRecording()) return;
    const attributes: Attributes = {
      'atom_gov.tenant': op.tenant,
      'atom_gov.server': op.server,
      'atom_gov.tool': metricLabel(op.tool),
      'atom_gov.decision': op.decision,
      'atom_gov.outcome': op.outcome,
      'rpc.system': 'jsonrpc',
      'rpc.method': op.method,
      'mcp.method.name': op.method,
    };
    if (op.policy) attributes['atom_gov.policy'] = op.policy;
    if (op.rules && op.rules.length > 0) attributes['atom_gov.rules'] = [...op.rules];
    if (op.transport) attributes['atom_gov.transport'] = op.transport;
    if (op.operationId) {
      attributes['atom_gov.operation_id'] = op.operationId;
      if (op.decision === 'governed' || op.governed) attributes[WORKFLOW_ID_ATTRIBUTE] = op.operationId;
    }
    span.setAttributes(attributes);
    if (op.outcome === 'error' || op.outcome === 'timeout')
      span.setStatus({ code: SpanStatusCode.ERROR, message: op.errorMessage ?? op.outcome });
    span.end(new Date(op.start.getTime() + op.durationMs));
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}
