// One OpenTelemetry span per MCP request through the gateway. With an exporter given, the gateway owns a tracer
// provider for it; without one it uses the global OpenTelemetry API, which records nothing unless the process
// registered an SDK (e.g. the OpenTelemetry Node SDK preloaded with NODE_OPTIONS), so tracing costs nothing
// when nobody configured it. Governed calls carry their Temporal workflow id (= operation id), which is how the
// Temporal UI and `atom-gov audit show` find the same operation.
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
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
  /** `service.name` of the exported spans (with an exporter; default atom-gov-gateway). */
  serviceName?: string;
}

/** The request a span is opened for before it finishes (governed calls). */
export interface CallStart {
  server: string;
  method: string;
}

/** A span left open by within() whose operation record never came (the call's record closes it normally). */
const ORPHAN_SPAN_MS = 60_000;

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
  /** Spans opened by within(), by operation id, until the call's record() finishes them. */
  private readonly open = new Map<string, Span[]>();

  constructor(opts: CallTracerOptions = {}) {
    if (opts.exporter) {
      const processor =
        opts.batch === false ? new SimpleSpanProcessor(opts.exporter) : new BatchSpanProcessor(opts.exporter);
      this.provider = new BasicTracerProvider({
        spanProcessors: [processor],
        resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? 'atom-gov-gateway' }),
      });
      this.tracer = this.provider.getTracer('atom-gov-gateway');
    } else {
      this.tracer = trace.getTracer('atom-gov-gateway');
    }
  }

  /**
   * Runs `fn` inside the call's span, opened now and finished by the call's record() (matched by operation id): work
   * started in `fn` is its child, and the Temporal client's OpenTelemetry interceptor puts it into the workflow's
   * headers, so a governed call and its workflow share one trace.
   */
  within<T>(operationId: string, call: CallStart, fn: () => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(`${call.method} ${call.server}`, { kind: SpanKind.SERVER });
    if (!span.isRecording()) return fn();
    const spans = this.open.get(operationId) ?? [];
    spans.push(span);
    this.open.set(operationId, spans);
    const done = (): void => {
      setTimeout(() => {
        if (this.take(operationId, span)) span.end();
      }, ORPHAN_SPAN_MS).unref();
    };
    const run = context.with(trace.setSpan(context.active(), span), fn);
    run.then(done, done);
    return run;
  }

  private take(operationId: string, span?: Span): Span | undefined {
    const spans = this.open.get(operationId);
    if (!spans) return undefined;
    const i = span ? spans.indexOf(span) : 0;
    if (i < 0) return undefined;
    const [taken] = spans.splice(i, 1);
    if (spans.length === 0) this.open.delete(operationId);
    return taken;
  }

  /** Records a finished request as one span (start and end times taken from the record, not from now). */
  record(op: TracedOperation): void {
    const opened = op.operationId !== undefined ? this.take(op.operationId) : undefined;
    const span =
      opened ?? this.tracer.startSpan(`${op.method} ${op.server}`, { kind: SpanKind.SERVER, startTime: op.start });
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
    // A span opened by within() started when the governed run did: it ends now, never before its start.
    span.end(opened ? undefined : new Date(op.start.getTime() + op.durationMs));
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}
