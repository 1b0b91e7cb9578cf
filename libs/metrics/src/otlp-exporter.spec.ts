import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CallTracer, WORKFLOW_ID_ATTRIBUTE } from './call-tracer.js';
import { createOtlpTraceExporter } from './otlp-exporter.js';

/** A real OTLP/HTTP endpoint on 127.0.0.1: keeps what each export POSTed. */
let server: Server;
let base: string;
const posts: Array<{ path: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
let arrived: (() => void) | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res
        .writeHead(200, { 'content-type': String(req.headers['content-type']) })
        .end(String(req.headers['content-type']).startsWith('application/json') ? '{}' : undefined);
      arrived?.();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function exportOne(protocol: 'http/json' | 'http/protobuf'): Promise<(typeof posts)[number]> {
  const exporter = createOtlpTraceExporter({
    tracesUrl: `${base}/v1/traces`,
    protocol,
    headers: { authorization: 'Bearer abc' },
    timeoutMs: 5_000,
  });
  const tracer = new CallTracer({ exporter, serviceName: 'gw-test' });
  const done = new Promise<void>((r) => (arrived = r));
  tracer.record({
    start: new Date(),
    tenant: 'acme',
    server: 'cloudflare_mcp',
    method: 'tools/call',
    tool: 'workers.deploy',
    decision: 'governed',
    outcome: 'ok',
    durationMs: 12,
    operationId: 'op-42',
  });
  await tracer.shutdown(); // flushes the batch
  await done;
  return posts.at(-1)!;
}

describe('createOtlpTraceExporter', () => {
  it('http/protobuf: POSTs a protobuf export with the configured headers to /v1/traces', async () => {
    const post = await exportOne('http/protobuf');
    expect(post.path).toBe('/v1/traces');
    expect(post.headers['content-type']).toBe('application/x-protobuf');
    expect(post.headers.authorization).toBe('Bearer abc');
    // Protobuf strings are stored as is: the attribute keys and values are in the body.
    const raw = post.body.toString('latin1');
    for (const s of ['gw-test', 'atom_gov.tenant', 'acme', 'workers.deploy', WORKFLOW_ID_ATTRIBUTE, 'op-42'])
      expect(raw).toContain(s);
  });

  it('http/json: POSTs OTLP JSON with the span and its attributes', async () => {
    const post = await exportOne('http/json');
    expect(post.headers['content-type']).toMatch(/^application\/json/);
    const doc = JSON.parse(post.body.toString('utf8')) as {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
        scopeSpans: Array<{
          spans: Array<{ name: string; attributes: Array<{ key: string; value: { stringValue?: string } }> }>;
        }>;
      }>;
    };
    const rs = doc.resourceSpans[0]!;
    expect(rs.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'gw-test' } });
    const span = rs.scopeSpans[0]!.spans[0]!;
    expect(span.name).toBe('tools/call cloudflare_mcp');
    expect(span.attributes).toContainEqual({ key: WORKFLOW_ID_ATTRIBUTE, value: { stringValue: 'op-42' } });
  });
});
