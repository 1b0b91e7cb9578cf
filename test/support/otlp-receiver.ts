// A real OTLP/HTTP traces receiver for tests: a node http server on 127.0.0.1 that accepts what an OpenTelemetry
// collector accepts at POST /v1/traces (JSON encoding decoded into spans; protobuf kept as raw bodies) and lets a
// test wait for the spans it expects instead of sleeping.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  /** service.name of the resource the span came with. */
  service?: string;
}

export interface ReceivedRequest {
  path: string;
  contentType: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface OtlpReceiver {
  /** Base address to put into telemetry.otlp.endpoint (the exporter appends /v1/traces). */
  endpoint: string;
  requests: ReceivedRequest[];
  spans: ReceivedSpan[];
  /** Resolves with the matching spans once `count` of them arrived (rejects after timeoutMs). */
  waitFor(match: (s: ReceivedSpan) => boolean, count?: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpJson {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: OtlpAnyValue }> };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: Array<{ key: string; value: OtlpAnyValue }>;
      }>;
    }>;
  }>;
}

function value(v: OtlpAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

const attrs = (list: Array<{ key: string; value: OtlpAnyValue }> | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      requests.push({ path: req.url ?? '', contentType, headers: req.headers, body });
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (contentType.startsWith('application/json')) {
        const doc = JSON.parse(body.toString('utf8')) as OtlpJson;
        for (const rs of doc.resourceSpans ?? []) {
          const service = attrs(rs.resource?.attributes)['service.name'];
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
                name: s.name,
                kind: s.kind,
                attributes: attrs(s.attributes),
                ...(typeof service === 'string' ? { service } : {}),
              });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        // Protobuf: an empty ExportTraceServiceResponse is zero bytes.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      }
      for (const w of waiters) w();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    spans,
    waitFor(match, count = 1, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = spans.filter(match);
          if (found.length < count) return false;
          waiters.delete(onRequest);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const onRequest = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(onRequest);
          reject(
            new Error(`OTLP receiver: ${spans.filter(match).length} of ${count} expected spans after ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.add(onRequest);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
