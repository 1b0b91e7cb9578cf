// Hostile and malformed input at /mcp/:server: each case gets a precise HTTP or JSON-RPC error (or is ignored
// where the protocol says so) and the gateway keeps serving the honest session afterwards.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { everythingStdio, startHarness, type Harness } from './spec-harness.js';

let harness: Harness;
let honest: { client: Client; transport: StreamableHTTPClientTransport };
let url: string;
const PV = '2025-11-25';

beforeAll(async () => {
  harness = await startHarness({ servers: [everythingStdio()], maxBodyBytes: 64 * 1024 });
  url = `${harness.base}/mcp/everything`;
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { 'x-test-tenant': 'a' } },
  });
  const client = new Client({ name: 'honest', version: '1' });
  await client.connect(transport);
  honest = { client, transport };
});
afterAll(async () => {
  await honest.client.close();
  await harness.close();
});

interface Reply {
  status: number;
  text: string;
  /** JSON-RPC messages from a JSON body or the SSE data lines. */
  messages: Array<Record<string, unknown>>;
}

async function post(body: unknown, headers: Record<string, string> = {}, method = 'POST'): Promise<Reply> {
  const res = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'x-test-tenant': 'a',
      ...headers,
    },
    body: method === 'POST' ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
  });
  const text = await res.text();
  const messages =
    text.startsWith('{') || text.startsWith('[')
      ? [JSON.parse(text)].flat()
      : text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
  return { status: res.status, text, messages };
}

const inSession = (extra: Record<string, string> = {}) => ({
  'mcp-session-id': honest.transport.sessionId!,
  'mcp-protocol-version': PV,
  ...extra,
});
const echoReq = (id: unknown, message: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'echo', arguments: { message } },
});

async function stillServing(): Promise<void> {
  const r = await honest.client.callTool({ name: 'echo', arguments: { message: 'ok' } });
  expect(r.content).toEqual([{ type: 'text', text: 'Echo: ok' }]);
}

describe('hostile input', () => {
  const cases: Array<[string, () => Promise<void>]> = [
    [
      'malformed JSON without a session → 400 -32700',
      async () => {
        const r = await post('{"jsonrpc":');
        expect(r.status).toBe(400);
        expect(r.messages[0]).toMatchObject({ error: { code: -32700 } });
      },
    ],
    [
      'malformed JSON in a session → 400 -32700',
      async () => {
        const r = await post('{"jsonrpc":', inSession());
        expect(r.status).toBe(400);
        expect(r.messages[0]).toMatchObject({ error: { code: -32700 } });
      },
    ],
    [
      'JSON that is not JSON-RPC → 400',
      async () => {
        const r = await post({ hello: 'world' }, inSession());
        expect(r.status).toBe(400);
        expect(r.messages[0]).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
      },
    ],
    [
      'oversized body → 413',
      async () => {
        const r = await post(echoReq(1, 'x'.repeat(70 * 1024)), inSession());
        expect(r.status).toBe(413);
      },
    ],
    [
      'unknown session → 404',
      async () => {
        const r = await post(echoReq(1, 'x'), { 'mcp-session-id': 'f'.repeat(36), 'mcp-protocol-version': PV });
        expect(r.status).toBe(404);
        expect(r.messages[0]).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
      },
    ],
    [
      'session of another tenant → 404, as if unknown',
      async () => {
        const r = await post(echoReq(1, 'steal'), inSession({ 'x-test-tenant': 'b' }));
        expect(r.status).toBe(404);
      },
    ],
    [
      'GET without a session → 400',
      async () => {
        const r = await post(undefined, {}, 'GET');
        expect(r.status).toBe(400);
      },
    ],
    [
      'DELETE of an unknown session → 404',
      async () => {
        const r = await post(undefined, { 'mcp-session-id': 'nope', 'mcp-protocol-version': PV }, 'DELETE');
        expect(r.status).toBe(404);
      },
    ],
    [
      'request without a session that is not initialize → 400',
      async () => {
        const r = await post(echoReq(1, 'x'));
        expect(r.status).toBe(400);
      },
    ],
    [
      'wrong Accept header → 406',
      async () => {
        const r = await post(echoReq(1, 'x'), inSession({ accept: 'text/html' }));
        expect(r.status).toBe(406);
      },
    ],
    [
      'wrong Content-Type → 415',
      async () => {
        const r = await post(echoReq(1, 'x'), inSession({ 'content-type': 'text/plain' }));
        expect(r.status).toBe(415);
      },
    ],
    [
      'unsupported MCP-Protocol-Version header → 400',
      async () => {
        const r = await post(echoReq(1, 'x'), inSession({ 'mcp-protocol-version': '1999-01-01' }));
        expect(r.status).toBe(400);
      },
    ],
    [
      'spoofed response for an id the gateway never sent → accepted (202) and ignored',
      async () => {
        const r = await post(
          { jsonrpc: '2.0', id: 424242, result: { role: 'assistant', content: { type: 'text', text: 'spoof' } } },
          inSession(),
        );
        expect(r.status).toBe(202);
      },
    ],
    [
      'spoofed error response → ignored',
      async () => {
        const r = await post({ jsonrpc: '2.0', id: 'x-1', error: { code: -32603, message: 'spoof' } }, inSession());
        expect(r.status).toBe(202);
      },
    ],
    [
      'unknown method in a session → -32601',
      async () => {
        const r = await post({ jsonrpc: '2.0', id: 5, method: 'evil/method', params: {} }, inSession());
        expect(r.messages.find((m) => m.id === 5)).toMatchObject({ error: { code: -32601 } });
      },
    ],
    [
      'invalid params for a spec method → JSON-RPC error',
      async () => {
        const r = await post({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 42 } }, inSession());
        expect(r.messages.find((m) => m.id === 6)).toMatchObject({ error: { code: expect.any(Number) } });
      },
    ],
    [
      'second initialize on an open session → rejected',
      async () => {
        const r = await post(
          {
            jsonrpc: '2.0',
            id: 7,
            method: 'initialize',
            params: { protocolVersion: PV, capabilities: {}, clientInfo: { name: 'x', version: '1' } },
          },
          inSession(),
        );
        expect(r.status).toBeGreaterThanOrEqual(400);
      },
    ],
    [
      'initialize with bad params → error, no upstream left behind',
      async () => {
        const before = harness.gateway.upstreamPids();
        const r = await post({ jsonrpc: '2.0', id: 8, method: 'initialize', params: { protocolVersion: 42 } });
        expect(r.status).toBe(400);
        expect(r.messages[0]).toMatchObject({
          id: 8,
          error: { code: -32602, message: expect.stringContaining('Invalid initialize request') },
        });
        expect(harness.gateway.upstreamPids()).toEqual(before);
      },
    ],
    [
      'id collision across sessions: same id, each session gets its own answer',
      async () => {
        const other = new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { 'x-test-tenant': 'a' } },
        });
        const c2 = new Client({ name: 'other', version: '1' });
        await c2.connect(other);
        const h2 = { 'mcp-session-id': other.sessionId!, 'mcp-protocol-version': PV };
        const [r1, r2] = await Promise.all([post(echoReq(77, 'from-1'), inSession()), post(echoReq(77, 'from-2'), h2)]);
        expect(r1.messages.find((m) => m.id === 77)).toMatchObject({
          result: { content: [{ type: 'text', text: 'Echo: from-1' }] },
        });
        expect(r2.messages.find((m) => m.id === 77)).toMatchObject({
          result: { content: [{ type: 'text', text: 'Echo: from-2' }] },
        });
        await other.terminateSession();
        await c2.close();
      },
    ],
    [
      'foreign cancellation: another session cancelling our request id has no effect',
      async () => {
        const other = new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { 'x-test-tenant': 'a' } },
        });
        const c2 = new Client({ name: 'other', version: '1' });
        await c2.connect(other);
        const slow = post(
          {
            jsonrpc: '2.0',
            id: 'slow-1',
            method: 'tools/call',
            params: { name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 2 } },
          },
          inSession(),
        );
        const cancel = await post(
          { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1', reason: 'hostile' } },
          { 'mcp-session-id': other.sessionId!, 'mcp-protocol-version': PV },
        );
        expect(cancel.status).toBe(202);
        const r = await slow;
        expect(r.messages.find((m) => m.id === 'slow-1')).toMatchObject({
          result: { content: [expect.objectContaining({ type: 'text' })] },
        });
        await other.terminateSession();
        await c2.close();
      },
    ],
    [
      'bad Origin → 403',
      async () => {
        const r = await post(echoReq(1, 'x'), inSession({ origin: 'https://evil.example' }));
        expect(r.status).toBe(403);
      },
    ],
    [
      'unknown server → 404 JSON-RPC error',
      async () => {
        const res = await fetch(`${harness.base}/mcp/..%2f..%2fetc`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(res.status).toBe(404);
      },
    ],
    [
      '2026-07-28: Mcp-Method header that does not match the body → rejected',
      async () => {
        const body = {
          jsonrpc: '2.0',
          id: 9,
          method: 'tools/list',
          params: {
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientInfo': { name: 'x', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        };
        const r = await post(body, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' });
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.messages[0]).toMatchObject({ error: { code: expect.any(Number) } });
      },
    ],
    [
      '2026-07-28: envelope naming an unsupported revision → unsupported-version error',
      async () => {
        const body = {
          jsonrpc: '2.0',
          id: 10,
          method: 'tools/list',
          params: {
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2099-01-01',
              'io.modelcontextprotocol/clientInfo': { name: 'x', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        };
        const r = await post(body, { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' });
        expect(r.messages[0]).toMatchObject({ error: { code: expect.any(Number) } });
      },
    ],
    [
      '2026-07-28: batch array → rejected',
      async () => {
        const meta = {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'x', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        };
        const r = await post(
          [
            { jsonrpc: '2.0', id: 11, method: 'tools/list', params: { _meta: meta } },
            { jsonrpc: '2.0', id: 12, method: 'tools/list', params: { _meta: meta } },
          ],
          { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
        );
        expect(r.status).toBeGreaterThanOrEqual(400);
      },
    ],
  ];

  it.each(cases)('%s', async (_name, run) => {
    await run();
    await stillServing();
  });
});
