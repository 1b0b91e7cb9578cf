// input_required bridging: an SDK v2 client pinned to 2026-07-28 calls server-everything (a 2025-era upstream)
// through the gateway; the upstream's sampling, elicitation and roots requests reach the client as input_required
// rounds (the SDK client's own driver fulfils them with its registered handlers and retries), and the upstream call
// resumes with the answers. Results equal those a 2025 client gets directly from the same upstream.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { OperationRecord } from './interceptor.js';
import { everythingPath, everythingStdio, startHarness, type Harness } from './spec-harness.js';

let harness: Harness;
const records: OperationRecord[] = [];
const clients: Client[] = [];
beforeAll(async () => {
  harness = await startHarness({ servers: [everythingStdio()], onOperation: async (r) => void records.push(r) });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await harness.close();
});

interface Observed {
  client: Client;
  sampling: unknown[];
  elicitation: unknown[];
}

function newClient(era: 'legacy' | '2026-07-28'): Observed {
  const client = new Client(
    { name: `input-required-${era}`, version: '1' },
    {
      capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
      ...(era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: era } } }),
    },
  );
  const observed: Observed = { client, sampling: [], elicitation: [] };
  client.setRequestHandler('sampling/createMessage', async (request) => {
    observed.sampling.push(request.params.messages);
    return { role: 'assistant', content: { type: 'text', text: 'sampled: 42' }, model: 'test-model' };
  });
  client.setRequestHandler('elicitation/create', async (request) => {
    observed.elicitation.push(request.params.message);
    return { action: 'accept', content: { name: 'Ada', check: true } };
  });
  client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///tmp/root', name: 'root' }] }));
  clients.push(client);
  return observed;
}

async function viaGateway(): Promise<Observed> {
  const o = newClient('2026-07-28');
  await o.client.connect(new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp/everything`)));
  expect(o.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  return o;
}

async function direct(): Promise<Observed> {
  const o = newClient('legacy');
  await o.client.connect(new StdioClientTransport({ command: process.execPath, args: [everythingPath, 'stdio'] }));
  return o;
}

/** Sampling results carry the model's text; everything else of a result compares as is. */
const call = (c: Client, name: string, args: Record<string, unknown> = {}) =>
  c.callTool({ name, arguments: args }, { timeout: 30_000 });

describe('2026-07-28 caller, upstream requests as input_required rounds', () => {
  it('sampling: the upstream’s request reaches the client, its answer resumes the upstream call', async () => {
    const [g, d] = [await viaGateway(), await direct()];
    const args = { prompt: 'What is 6*7?', maxTokens: 20 };
    const viaGw = await call(g.client, 'trigger-sampling-request', args);
    const directly = await call(d.client, 'trigger-sampling-request', args);
    expect(viaGw.content).toEqual(directly.content);
    expect(JSON.stringify(viaGw.content)).toContain('sampled: 42');
    expect(g.sampling).toEqual(d.sampling);
    expect(g.sampling).toHaveLength(1);
  });

  it('elicitation and roots the same way', async () => {
    const [g, d] = [await viaGateway(), await direct()];
    const el = await call(g.client, 'trigger-elicitation-request');
    expect(el.content).toEqual((await call(d.client, 'trigger-elicitation-request')).content);
    expect(JSON.stringify(el.content)).toContain('Ada');
    expect(g.elicitation).toEqual(d.elicitation);
    const roots = await call(g.client, 'get-roots-list');
    expect(roots.content).toEqual((await call(d.client, 'get-roots-list')).content);
    expect(JSON.stringify(roots.content)).toContain('file:///tmp/root');
  });

  it('each round is an operation record; the final one carries the upstream’s result', async () => {
    const before = records.length;
    const g = await viaGateway();
    await call(g.client, 'trigger-sampling-request', { prompt: 'audit me', maxTokens: 5 });
    const rounds = records.slice(before).filter((r) => r.target === 'trigger-sampling-request');
    expect(rounds.map((r) => [r.method, r.decision, r.outcome])).toEqual([
      ['tools/call', 'allow', 'ok'],
      ['tools/call', 'allow', 'ok'],
    ]);
    expect(rounds[1]!.responseBytes).toBeGreaterThan(0);
  });

  it('a retry with a requestState the gateway did not issue gets the invalid requestState error', async () => {
    const g = await viaGateway();
    const error = await g.client
      .request({
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'x' }, requestState: 'forged', inputResponses: {} },
      } as never)
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; message?: string },
      );
    expect(error?.code).toBe(-32602);
    expect(error?.message).toMatch(/Invalid or expired requestState/);
  });
});
