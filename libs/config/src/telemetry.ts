// The `telemetry:` block: where the gateway sends its OpenTelemetry traces (one span per MCP request, governed
// calls linked to their Temporal workflow). Raw schema and normalisation; the exporter itself is built in
// libs/metrics. Only OTLP over HTTP: it needs no native addon and every collector (and Jaeger, Tempo...) takes it.
import { z } from 'zod';
import { parseDuration } from './values.js';

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The normalised `telemetry:` block. */
export interface TelemetryConfig {
  /** `service.name` of the exported spans (default atom-gov-gateway). */
  serviceName: string;
  /** Absent: no exporter configured (spans go to the global OpenTelemetry API, a no-op unless an SDK is loaded). */
  otlp?: {
    /** Full URL spans are POSTed to: the configured endpoint with `/v1/traces` appended when its path lacks it. */
    tracesUrl: string;
    protocol: OtlpProtocol;
    headers: Record<string, string>;
    timeoutMs: number;
  };
}

const endpoint = z
  .string()
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `'${value}' is not a URL: give the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318`,
      });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `OTLP endpoint must be http:// or https:// (OTLP/HTTP; gRPC is not supported), got ${url.protocol}//`,
      });
  })
  .meta({
    description: 'OTLP/HTTP collector address, e.g. http://127.0.0.1:4318 (/v1/traces is appended unless given)',
  });

const timeout = z
  .union([z.string(), z.number()])
  .superRefine((value, ctx) => {
    const r = parseDuration(value);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message, input: value });
  })
  .meta({ description: 'Export request timeout such as 10s (default 10s)' });

export const telemetrySchema = z
  .strictObject({
    service_name: z
      .string()
      .min(1, 'service_name must not be empty')
      .optional()
      .meta({ description: 'service.name of exported spans (default atom-gov-gateway)' }),
    otlp: z
      .strictObject({
        endpoint,
        protocol: z.enum(OTLP_PROTOCOLS).optional().meta({ description: 'http/protobuf (default) or http/json' }),
        headers: z
          .record(z.string(), z.string())
          .optional()
          .meta({ description: 'Extra HTTP headers on every export, e.g. authorization: Bearer ${OTLP_TOKEN}' }),
        timeout: timeout.optional(),
      })
      .optional()
      .meta({ description: 'Export one span per MCP request over OTLP/HTTP' }),
  })
  .meta({ description: 'OpenTelemetry tracing of gateway requests' });

export type RawTelemetry = z.infer<typeof telemetrySchema>;

/** `/v1/traces` is the OTLP/HTTP traces path; a base address (what collectors document) gets it appended. */
export function otlpTracesUrl(endpointUrl: string): string {
  const url = new URL(endpointUrl);
  if (!/\/v1\/traces\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

export function normaliseTelemetry(raw: RawTelemetry | undefined): TelemetryConfig {
  const otlp = raw?.otlp;
  const timeoutMs = otlp?.timeout !== undefined ? parseDuration(otlp.timeout) : undefined;
  return {
    serviceName: raw?.service_name ?? 'atom-gov-gateway',
    ...(otlp
      ? {
          otlp: {
            tracesUrl: otlpTracesUrl(otlp.endpoint),
            protocol: otlp.protocol ?? 'http/protobuf',
            headers: { ...(otlp.headers ?? {}) },
            timeoutMs: timeoutMs?.ok ? timeoutMs.value : 10_000,
          },
        }
      : {}),
  };
}
