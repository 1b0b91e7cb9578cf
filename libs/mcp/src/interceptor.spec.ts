// The interception point as policy and Temporal will use it: one interceptor filters listings, denies, transforms,
// governs (runs the call itself) and post-processes results; every decision is in the operation records.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { everythingStdio, startHarness, type Harness } from './spec-harness.js';
import type { InterceptContext, Interceptor, OperationRecord } from './interceptor.js';
import { POLICY_DENIED } from './downstream-session.js';

const records: OperationRecord[] = [];
const seen: InterceptContext[] = [];
const interceptor: Interceptor = {
  filterList: (ctx, kind, items) =>
    kind === 'tools' && !ctx.roles.includes('admin') ? items.filter((t) => t.name !== 'get-env') : items,
  beforeRequest: (ctx, req) => {
    seen.push(ctx);
    if (ctx.method === 'tools/call' && ctx.name === 'get-env')
      return { kind: 'deny', message: 'get-env is not allowed for you', policy: 'no-env', rules: ['r1'] };
    if (ctx.method === 'resources/read' && String(ctx.name).includes('architecture'))
      return { kind: 'deny', message: 'secret document' };
    if (ctx.method === 'tools/call' && ctx.name === 'echo') {
      const args = {
        ...(req.params?.arguments as Record<string, unknown>),
        message: String((req.params?.arguments as { message?: unknown }).message).toUpperCase(),
      };
      return { kind: 'transform', params: { ...req.params, arguments: args } };
    }
    if (ctx.method === 'tools/call' && ctx.name === 'get-sum') {
      // A durable workflow would approve here; it then forwards the call itself.
      return {
        kind: 'governed',
        operationId: 'op-1',
        policy: 'approval',
        run: async (forward) => forward({ ...req.params, arguments: { a: 1, b: 1 } }),
      };
    }
    return { kind: 'allow' };
  },
  afterResult: (_ctx, req, result) => {
    if (req.method === 'tools/call' && JSON.stringify(result).includes('SECRET'))
      return { ...result, content: [{ type: 'text', text: '[redacted]' }] };
    return result;
  },
};

let harness: Harness;
let client: Client;
beforeAll(async () => {
  harness = await startHarness({
    servers: [everythingStdio()],
    interceptor,
    onOperation: async (r) => void records.push(r),
  });
  client = new Client({ name: 'policy-spec', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp/everything`), {
      requestInit: { headers: { 'x-test-user': 'bob' } },
    }),
  );
});
afterAll(async () => {
  await client.close();
  await harness.close();
});

describe('interception point', () => {
  it('a tool the caller may not call is not listed, and calling it is denied as a tool error', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).not.toContain('get-env');
    const r = await client.callTool({ name: 'get-env', arguments: {} });
    expect(r).toMatchObject({ isError: true, content: [{ type: 'text', text: 'get-env is not allowed for you' }] });
    expect(records.find((x) => x.target === 'get-env')).toMatchObject({
      decision: 'deny',
      outcome: 'denied',
      policy: 'no-env',
      rules: ['r1'],
      user: 'bob',
    });
  });

  it('other denied requests get a JSON-RPC error with the policy code', async () => {
    const err = await client
      .readResource({ uri: 'demo://resource/static/document/architecture.md' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(POLICY_DENIED);
    expect((err as ProtocolError).message).toContain('secret document');
  });

  it('transform rewrites arguments; governed runs the call through its own handler', async () => {
    expect((await client.callTool({ name: 'echo', arguments: { message: 'quiet' } })).content).toEqual([
      { type: 'text', text: 'Echo: QUIET' },
    ]);
    expect((await client.callTool({ name: 'get-sum', arguments: { a: 40, b: 2 } })).content).toEqual([
      { type: 'text', text: 'The sum of 1 and 1 is 2.' },
    ]);
    expect(records.find((x) => x.target === 'get-sum')).toMatchObject({
      decision: 'governed',
      operationId: 'op-1',
      outcome: 'ok',
    });
  });

  it('afterResult can rewrite a result; the context names caller, session, server and transport', async () => {
    expect((await client.callTool({ name: 'echo', arguments: { message: 'secret' } })).content).toEqual([
      { type: 'text', text: '[redacted]' },
    ]);
    expect(seen.at(-1)).toMatchObject({
      tenant: 't1',
      user: 'bob',
      server: 'everything',
      method: 'tools/call',
      name: 'echo',
      transport: 'http',
      args: { message: 'secret' },
    });
    expect(seen.at(-1)?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
