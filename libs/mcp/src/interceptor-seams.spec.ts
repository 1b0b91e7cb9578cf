// The seams governed calls and pinning build on: ctx.progress (caller-visible waiting messages), an annotated
// outcome overriding the derived one, and filterInitialize (check or replace the upstream's instructions).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { everythingStdio, startHarness, type Harness } from './spec-harness.js';
import type { InterceptContext, Interceptor, OperationRecord } from './interceptor.js';
import { POLICY_DENIED } from './downstream-session.js';

const records: OperationRecord[] = [];
const initSeen: Array<{ user: string; method: string; instructions?: string; serverInfo?: unknown }> = [];
const interceptor: Interceptor = {
  filterList: (_ctx, _kind, items) => items,
  beforeRequest: (ctx: InterceptContext, req) => {
    if (ctx.method === 'tools/call' && ctx.name === 'trigger-long-running-operation') {
      return {
        kind: 'governed',
        operationId: 'op-wait',
        run: async (forward) => {
          ctx.progress?.('waiting for approval (1 of 2)');
          ctx.progress?.('waiting for approval (2 of 2)');
          return forward(req.params);
        },
      };
    }
    if (ctx.method === 'tools/call' && ctx.name === 'get-sum') {
      return {
        kind: 'governed',
        operationId: 'op-refused',
        run: async () => {
          ctx.progress?.('asking approvers');
          ctx.annotations = { ...ctx.annotations, outcome: 'denied', notes: ['rejected by carol'] };
          return { content: [{ type: 'text', text: 'Rejected by carol' }], isError: true };
        },
      };
    }
    return { kind: 'allow' };
  },
  afterResult: (_ctx, _req, result) => result,
  filterInitialize: (ctx, info) => {
    initSeen.push({ user: ctx.user, method: ctx.method, instructions: info.instructions, serverInfo: info.serverInfo });
    if (ctx.user === 'mallory') return { deny: 'server instructions changed since they were pinned' };
    if (ctx.user === 'rewrite') return { instructions: 'pinned instructions' };
    return {};
  },
};

let harness: Harness;
const clients: Client[] = [];
beforeAll(async () => {
  harness = await startHarness({
    servers: [everythingStdio()],
    interceptor,
    onOperation: async (r) => void records.push(r),
  });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await harness.close();
});

async function connect(user: string, era: 'legacy' | '2026-07-28' = 'legacy'): Promise<Client> {
  const c = new Client(
    { name: 'seams-spec', version: '1' },
    era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: era } } },
  );
  await c.connect(
    new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp/everything`), {
      requestInit: { headers: { 'x-test-user': user } },
    }),
  );
  clients.push(c);
  return c;
}

describe('InterceptContext.progress', () => {
  it.each(['legacy', '2026-07-28'] as const)(
    'gateway messages reach the caller, then the upstream progress continues increasing (%s)',
    async (era) => {
      const client = await connect('alice', era);
      const seen: Array<{ progress: number; total?: number; message?: string }> = [];
      const result = await client.request(
        {
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 3 } },
        },
        { onprogress: (p) => seen.push({ progress: p.progress, total: p.total, message: p.message }) },
      );
      expect(JSON.stringify(result)).toContain('Long running operation completed');
      expect(seen.slice(0, 2)).toEqual([
        { progress: 1, total: undefined, message: 'waiting for approval (1 of 2)' },
        { progress: 2, total: undefined, message: 'waiting for approval (2 of 2)' },
      ]);
      // The SDK client may drop the last step (it races the result); the ones it delivers are shifted past 2.
      const upstream = seen.slice(2);
      expect(upstream.length).toBeGreaterThanOrEqual(2);
      expect(upstream).toEqual(
        [3, 4, 5].slice(0, upstream.length).map((progress) => ({ progress, total: 5, message: undefined })),
      );
    },
  );

  it('is a no-op when the caller sent no progressToken', async () => {
    const client = await connect('alice');
    const result = await client.callTool({
      name: 'trigger-long-running-operation',
      arguments: { duration: 0.1, steps: 2 },
    });
    expect(JSON.stringify(result.content)).toContain('Long running operation completed');
  });
});

describe('OperationAnnotations.outcome', () => {
  it('overrides the derived outcome in the operation record', async () => {
    const client = await connect('alice');
    const result = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    expect(result).toMatchObject({ isError: true, content: [{ type: 'text', text: 'Rejected by carol' }] });
    const record = records.find((r) => r.operationId === 'op-refused');
    expect(record).toMatchObject({ decision: 'governed', outcome: 'denied', target: 'get-sum' });
    expect(record?.annotations?.notes).toEqual(['rejected by carol']);
    // Without an annotation the derived outcome stays.
    expect(records.find((r) => r.operationId === 'op-wait')).toMatchObject({ outcome: 'ok' });
  });
});

describe('Interceptor.filterInitialize', () => {
  it('sees the upstream instructions and keeps them by default', async () => {
    const direct = initSeen.length;
    const client = await connect('alice');
    expect(initSeen.slice(direct)).toEqual([
      expect.objectContaining({
        user: 'alice',
        method: 'initialize',
        serverInfo: expect.objectContaining({ name: 'mcp-servers/everything' }),
      }),
    ]);
    const upstreamInstructions = initSeen.at(-1)?.instructions;
    expect(upstreamInstructions?.length).toBeGreaterThan(20);
    expect(client.getInstructions()).toBe(upstreamInstructions);
  });

  it('can replace the instructions the caller sees', async () => {
    const client = await connect('rewrite');
    expect(client.getInstructions()).toBe('pinned instructions');
  });

  it('a deny refuses the session with POLICY_DENIED and the reason, and is audited', async () => {
    const err = await connect('mallory').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(POLICY_DENIED);
    expect((err as ProtocolError).message).toContain('server instructions changed since they were pinned');
    expect(records.find((r) => r.user === 'mallory' && r.method === 'initialize')).toMatchObject({
      decision: 'deny',
      outcome: 'denied',
    });
    expect(harness.gateway.sessionCount).toBeGreaterThan(0); // other sessions keep serving
  });

  it('2026-07-28: checked per request; a deny refuses discovery and calls', async () => {
    const client = await connect('rewrite', '2026-07-28');
    expect(client.getInstructions()).toBe('pinned instructions');
    const body = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/list',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'x', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    };
    const response = await fetch(`${harness.base}/mcp/everything`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/list',
        'x-test-user': 'mallory',
      },
      body: JSON.stringify(body),
    });
    expect(await response.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: POLICY_DENIED, message: 'server instructions changed since they were pinned' },
    });
    expect(initSeen.filter((s) => s.user === 'mallory').map((s) => s.method)).toContain('tools/list');
  });
});
