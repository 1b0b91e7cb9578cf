// Protocol revision 2026-07-28 (stateless: server/discover, per-request envelope, no initialize) served in front
// of a 2025-era upstream (server-everything): an SDK client pinned to 2026-07-28 sees the same tools and results.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { everythingStdio, startHarness, type Harness } from './spec-harness.js';
import type { OperationRecord } from './interceptor.js';

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

async function client(era: 'legacy' | '2026-07-28'): Promise<Client> {
  const c = new Client(
    { name: `spec-${era}`, version: '1' },
    era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: era } } },
  );
  await c.connect(new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp/everything`)));
  clients.push(c);
  return c;
}

describe('2026-07-28 stateless requests', () => {
  it('discover, list and call give the upstream’s answers', async () => {
    const modern = await client('2026-07-28');
    const legacy = await client('legacy');
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(modern.getServerVersion()?.name).toBe('mcp-servers/everything');
    const names = async (c: Client) => (await c.listTools()).tools.map((t) => t.name).sort();
    expect(await names(modern)).toEqual(await names(legacy));
    const echo = { name: 'echo', arguments: { message: 'modern' } };
    expect((await modern.callTool(echo)).content).toEqual((await legacy.callTool(echo)).content);
    const read = { uri: 'demo://resource/static/document/features.md' };
    expect((await modern.readResource(read)).contents).toEqual((await legacy.readResource(read)).contents);
    expect(records.some((r) => r.method === 'tools/call' && r.target === 'echo' && r.outcome === 'ok')).toBe(true);
  });
});
