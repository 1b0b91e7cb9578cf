// The stdio bridge relays an assistant's stdio session to the gateway endpoint: the SDK client talks to it over
// a pair of pipes exactly as it would to a child's stdin/stdout.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/client';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { everythingStdio, groupGone, startHarness, type Harness } from './spec-harness.js';
import { runStdioBridge } from './stdio-bridge.js';
import type { OperationRecord } from './interceptor.js';

let harness: Harness;
const records: OperationRecord[] = [];
beforeAll(async () => {
  harness = await startHarness({ servers: [everythingStdio()], onOperation: async (r) => void records.push(r) });
});
afterAll(async () => harness.close());

function bridgedClient(url: string) {
  const toBridge = new PassThrough();
  const fromBridge = new PassThrough();
  const bridge = runStdioBridge({ url, stdin: toBridge, stdout: fromBridge });
  // The client side of the pipes: an SDK stream transport reading the bridge's stdout, writing its stdin.
  const transport = new StdioServerTransport(fromBridge, toBridge);
  const client = new Client({ name: 'claude-desktop-like', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'bridged sample' },
    model: 'm',
  }));
  return { client, transport, bridge, end: () => toBridge.end() };
}

describe('stdio bridge', () => {
  it('relays calls, progress and sampling, and ends the gateway session when stdin closes', async () => {
    const b = bridgedClient(`${harness.base}/mcp/everything`);
    await b.client.connect(b.transport);
    expect(b.client.getServerVersion()?.name).toBe('mcp-servers/everything');
    const echo = await b.client.request({
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'via stdio' } },
    });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: via stdio' }]);
    const steps: number[] = [];
    await b.client.request(
      {
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 0.1, steps: 3 } },
      },
      { onprogress: (p) => steps.push(p.progress) },
    );
    expect(steps.slice(0, 2)).toEqual([1, 2]);
    const sampled = await b.client.request({
      method: 'tools/call',
      params: { name: 'trigger-sampling-request', arguments: { prompt: 'hi' } },
    });
    expect(JSON.stringify(sampled)).toContain('bridged sample');
    expect(records.find((r) => r.target === 'echo')).toMatchObject({ transport: 'stdio', outcome: 'ok' });
    const [pid] = harness.gateway.upstreamPids();
    expect(harness.gateway.sessionCount).toBe(1);
    b.end();
    await b.bridge;
    expect(await groupGone(pid!)).toBe(true);
    expect(harness.gateway.sessionCount).toBe(0);
  });

  it('answers requests with a clear error when no gateway listens', async () => {
    const b = bridgedClient('http://127.0.0.1:9/mcp/everything');
    await expect(b.client.connect(b.transport)).rejects.toThrow(/gateway unavailable/);
    b.end();
    await b.bridge;
  });
});
