// OTLP/HTTP span exporters built from the config's `telemetry.otlp` block, and the process-wide context plumbing
// that lets a span started by the gateway travel into Temporal (W3C trace context in the workflow's headers).
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/** The normalised `telemetry.otlp` block of @atom-gov/config (structural: this library does not read config). */
export interface OtlpExportSettings {
  tracesUrl: string;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  timeoutMs: number;
}

export function createOtlpTraceExporter(settings: OtlpExportSettings): SpanExporter {
  const opts = { url: settings.tracesUrl, headers: { ...settings.headers }, timeoutMillis: settings.timeoutMs };
  return settings.protocol === 'http/json' ? new OtlpJsonExporter(opts) : new OtlpProtoExporter(opts);
}

let propagationEnabled = false;

/**
 * Registers (once per process) an AsyncLocalStorage context manager and the W3C trace-context propagator, unless the
 * process already has its own (an OpenTelemetry SDK preloaded with NODE_OPTIONS keeps its choices): without them
 * the active span is lost across awaits and nothing is injected into the Temporal workflow's headers.
 */
export function enableTracePropagation(): void {
  if (propagationEnabled) return;
  propagationEnabled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}
