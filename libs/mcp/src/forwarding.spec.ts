// Differential test: the official SDK client talks to the real server-everything directly (stdio) and through
// the forwarding layer (McpGateway over Streamable HTTP, upstream over stdio); results must match apart from ids
// and session handles.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, ProtocolError, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { PassThrough } from 'node:stream';
import { corpus, normaliseTimes } from './differential-corpus.js';
import { runStdioBridge } from './stdio-bridge.js';
import { McpGateway } from './mcp-gateway.service.js';
import { passthroughResult } from './upstream-hub.js';
import type { OperationRecord } from './interceptor.js';
import type { UpstreamServerConfig } from './types.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const upstream: UpstreamServerConfig = {
  name: 'everything',
  transport: 'stdio',
  command: process.execPath,
  args: [everything, 'stdio'],
  env: {},
  headers: {},
  share: false,
};
/** The same server as a Streamable HTTP upstream the gateway launches (the fast path then forwards over undici). */
const httpUpstream: UpstreamServerConfig = {
  name: 'everything-http',
  transport: 'streamable_http',
  args: [],
  env: {},
  headers: {},
  share: false,
  url: 'http://127.0.0.1:{port}/mcp',
  launch: { command: process.execPath, args: [everything, 'streamableHttp'], env: { PORT: '{port}' }, port: 'auto' },
};
const identity = { tenant: 't1', user: 'alice', roles: ['dev'] };

interface Observed {
  client: Client;
  notifications: Array<{ method: string; params?: unknown }>;
  samplingRequests: unknown[];
}

function newClient(): Observed {
  const client = new Client(
    { name: 'differential', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } },
  );
  const observed: Observed = { client, notifications: [], samplingRequests: [] };
  client.setRequestHandler('sampling/createMessage', async (request) => {
    observed.samplingRequests.push(request.params);
    return {
      role: 'assistant',
      content: { type: 'text', text: 'sampled: 42' },
      model: 'test-model',
      stopReason: 'endTurn',
    };
  });
  client.setRequestHandler('elicitation/create', async () => ({
    action: 'accept',
    content: { name: 'Ada', check: true },
  }));
  client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///tmp/root', name: 'root' }] }));
  client.fallbackNotificationHandler = async (n) => {
    observed.notifications.push(n);
  };
  client.setNotificationHandler('notifications/message', (n) => {
    observed.notifications.push(n);
  });
  return observed;
}

let http: HttpServer;
let gateway: McpGateway;
let base: string;
const records: OperationRecord[] = [];
const open: Client[] = [];

async function connect(transport: Transport): Promise<Observed> {
  const o = newClient();
  await o.client.connect(transport);
  open.push(o.client);
  return o;
}
const direct = () =>
  connect(new StdioClientTransport({ command: process.execPath, args: [everything, 'stdio'], stderr: 'ignore' }));
const viaGateway = (server = 'everything') =>
  connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp/${server}`)));

/** Sends a raw request and returns the result, or the error's code/message/data. */
async function call(c: Client, method: string, params?: Record<string, unknown>): Promise<unknown> {
  try {
    return await c.request({ method, params } as never, passthroughResult);
  } catch (error) {
    if (error instanceof ProtocolError)
      return { error: { code: error.code, message: error.message, data: error.data } };
    throw error;
  }
}

beforeAll(async () => {
  gateway = new McpGateway({
    servers: [upstream, httpUpstream],
    onOperation: async (r) => {
      records.push(r);
    },
  });
  http = createServer((req, res) => {
    const m = /^\/mcp\/([^/?]+)/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    void gateway.handle(decodeURIComponent(m[1]!), req, res, { identity });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await gateway.close();
  await new Promise((r) => http.close(r));
});

describe('forwarding through McpGateway matches server-everything directly', () => {
  it('initialize: server info, capabilities and instructions pass through', async () => {
    const [d, g] = await Promise.all([direct(), viaGateway()]);
    expect(g.client.getServerVersion()).toEqual(d.client.getServerVersion());
    expect(g.client.getServerCapabilities()).toEqual(d.client.getServerCapabilities());
    expect(g.client.getInstructions()).toEqual(d.client.getInstructions());
    expect(g.client.getInstructions()?.length).toBeGreaterThan(10);
  });

  it(`a corpus of ${corpus.length} requests gives the same results`, async () => {
    const [d, g] = await Promise.all([direct(), viaGateway()]);
    const norm = normaliseTimes;
    for (const [method, params] of corpus) {
      const [a, b] = [norm(await call(d.client, method, params)), norm(await call(g.client, method, params))];
      expect({ method, params, result: b }).toEqual({ method, params, result: a });
    }
    const tools = (await call(g.client, 'tools/list')) as { tools: Array<{ name: string }> };
    expect(tools.tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['echo', 'trigger-sampling-request', 'get-roots-list']),
    );
  });

  it('progress notifications arrive with the caller’s token, in order', async () => {
    const g = await viaGateway();
    const d = await direct();
    const run = async (c: Client) => {
      const seen: Array<{ progress: number; total?: number }> = [];
      const result = await c.request(
        {
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 4 } },
        },
        { onprogress: (p) => seen.push({ progress: p.progress, total: p.total }) },
      );
      return { result, seen };
    };
    const [a, b] = [await run(d.client), await run(g.client)];
    expect(b.result).toEqual(a.result);
    // The SDK client dispatches notifications a microtask after responses, so the last step can race the
    // result and be dropped, directly as through the gateway; every other step arrives, in order.
    const all = [1, 2, 3, 4].map((progress) => ({ progress, total: 4 }));
    expect(b.seen.length).toBeGreaterThanOrEqual(3);
    expect(b.seen).toEqual(all.slice(0, b.seen.length));
    expect(a.seen).toEqual(all.slice(0, a.seen.length));
  });

  it('every progress step is on the wire before the result (read raw, without the SDK client)', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/everything`));
    await connect(transport);
    const res = await fetch(`${base}/mcp/everything`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'p-1',
        method: 'tools/call',
        params: {
          name: 'trigger-long-running-operation',
          arguments: { duration: 0.2, steps: 4 },
          _meta: { progressToken: 'my-token' },
        },
      }),
    });
    const messages = (await res.text())
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as { method?: string; id?: string; params?: Record<string, unknown> })
      // A server->client request (the upstream's roots/list after start) may share the stream: not under test.
      .filter((m) => !(m.method && m.id !== undefined));
    expect(messages.map((m) => m.method ?? `result ${m.id}`)).toEqual([
      ...Array(4).fill('notifications/progress'),
      'result p-1',
    ]);
    expect(messages.slice(0, 4).map((m) => m.params)).toEqual(
      [1, 2, 3, 4].map((progress) => ({ progress, total: 4, progressToken: 'my-token' })),
    );
  });

  it(`through a Streamable HTTP upstream too: the corpus, progress, sampling, elicitation, roots, cancellation`, async () => {
    const [d, g] = await Promise.all([direct(), viaGateway('everything-http')]);
    const norm = (v: unknown) =>
      JSON.parse(JSON.stringify(v).replace(/\d{1,2}:\d{2}:\d{2} [AP]M/g, '<time>')) as unknown;
    for (const [method, params] of corpus) {
      const [a, b] = [norm(await call(d.client, method, params)), norm(await call(g.client, method, params))];
      expect({ method, params, result: b }).toEqual({ method, params, result: a });
    }
    const seen: number[] = [];
    await g.client.request(
      {
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 4 } },
      },
      { onprogress: (p) => seen.push(p.progress) },
    );
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([1, 2, 3, 4].slice(0, seen.length));
    for (const params of [
      { name: 'trigger-sampling-request', arguments: { prompt: 'What is 6*7?', maxTokens: 20 } },
      { name: 'trigger-elicitation-request', arguments: {} },
      { name: 'get-roots-list', arguments: {} },
    ]) {
      expect(await call(g.client, 'tools/call', params)).toEqual(await call(d.client, 'tools/call', params));
    }
    expect(g.samplingRequests).toEqual(d.samplingRequests);
    const controller = new AbortController();
    const pending = g.client.request(
      {
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
      },
      { signal: controller.signal, onprogress: () => controller.abort('user cancelled') },
    );
    await expect(pending).rejects.toThrow();
    expect(await call(g.client, 'ping')).toEqual({});
  });

  it('through the stdio bridge: the corpus gives the same results', async () => {
    const toBridge = new PassThrough();
    const fromBridge = new PassThrough();
    const bridge = runStdioBridge({ url: `${base}/mcp/everything`, stdin: toBridge, stdout: fromBridge });
    const b = newClient();
    await b.client.connect(new StdioServerTransport(fromBridge, toBridge));
    const d = await direct();
    const norm = (v: unknown) =>
      JSON.parse(JSON.stringify(v).replace(/\d{1,2}:\d{2}:\d{2} [AP]M/g, '<time>')) as unknown;
    for (const [method, params] of corpus) {
      const [x, y] = [norm(await call(d.client, method, params)), norm(await call(b.client, method, params))];
      expect({ method, params, result: y }).toEqual({ method, params, result: x });
    }
    await b.client.close();
    toBridge.end();
    await bridge;
  });

  it('sampling and elicitation round-trip to the session that caused them', async () => {
    const [d, g] = await Promise.all([direct(), viaGateway()]);
    const params = { name: 'trigger-sampling-request', arguments: { prompt: 'What is 6*7?', maxTokens: 20 } };
    const [a, b] = [await call(d.client, 'tools/call', params), await call(g.client, 'tools/call', params)];
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toContain('sampled: 42');
    expect(g.samplingRequests).toEqual(d.samplingRequests);
    const el = { name: 'trigger-elicitation-request', arguments: {} };
    expect(await call(g.client, 'tools/call', el)).toEqual(await call(d.client, 'tools/call', el));
    const roots = { name: 'get-roots-list', arguments: {} };
    expect(await call(g.client, 'tools/call', roots)).toEqual(await call(d.client, 'tools/call', roots));
  });

  it('cancellation from the assistant reaches the upstream and the call ends', async () => {
    const g = await viaGateway();
    const controller = new AbortController();
    const pending = g.client.request(
      {
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
      },
      { signal: controller.signal, onprogress: () => controller.abort('user cancelled') },
    );
    await expect(pending).rejects.toThrow();
    // The session is still usable afterwards.
    expect(await call(g.client, 'ping')).toEqual({});
  });

  it('two concurrent sessions never see each other’s notifications', async () => {
    const [a, b] = await Promise.all([viaGateway(), viaGateway()]);
    await call(a.client, 'logging/setLevel', { level: 'debug' });
    await call(a.client, 'tools/call', { name: 'toggle-simulated-logging', arguments: {} });
    // Session b makes calls meanwhile; it must not receive a's logging.
    const simulated = (o: Observed) =>
      o.notifications.filter((n) => /level message|level-message/.test(JSON.stringify(n.params)));
    const until = Date.now() + 2500;
    while (Date.now() < until && simulated(a).length === 0) await call(b.client, 'ping');
    await call(a.client, 'tools/call', { name: 'toggle-simulated-logging', arguments: {} });
    expect(simulated(a).length).toBeGreaterThan(0);
    expect(simulated(b)).toEqual([]);
  });

  it('records one operation per request, before the response', async () => {
    const g = await viaGateway();
    const before = records.length;
    await call(g.client, 'tools/call', { name: 'echo', arguments: { message: 'audit me' } });
    const rec = records.slice(before).find((r) => r.method === 'tools/call');
    expect(rec).toMatchObject({
      tenant: 't1',
      user: 'alice',
      server: 'everything',
      target: 'echo',
      decision: 'allow',
      outcome: 'ok',
    });
  });
});
