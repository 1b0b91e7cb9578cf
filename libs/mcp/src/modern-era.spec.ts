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

async function client(era: 'legacy' | '2026-07-28', tenant = 't1'): Promise<Client> {
  const c = new Client(
    { name: `spec-${era}`, version: '1' },
    era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: era } } },
  );
  await c.connect(
    new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp/everything`), {
      requestInit: { headers: { 'x-test-tenant': tenant } },
    }),
  );
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

describe('2026-07-28 subscriptions/listen bridged to the upstream', () => {
  it('list_changed and resource updates of the tenant’s upstream reach its listen stream, not other tenants’', async () => {
    const uri = 'demo://resource/dynamic/text/1';
    const listener = await client('2026-07-28');
    const other = await client('2026-07-28', 't2');
    const got: Array<{ method: string; params?: unknown }> = [];
    const otherGot: string[] = [];
    const arrived = (method: string) =>
      new Promise<void>((resolve) => {
        listener.setNotificationHandler(method as 'notifications/resources/updated', (n) => {
          got.push(n);
          resolve();
        });
      });
    const updated = arrived('notifications/resources/updated');
    const listChanged = arrived('notifications/resources/list_changed');
    for (const m of ['notifications/resources/updated', 'notifications/resources/list_changed'] as const)
      other.setNotificationHandler(m, (n) => void otherGot.push(n.method));
    const sub = await listener.listen({ resourcesListChanged: true, resourceSubscriptions: [uri] });
    const otherSub = await other.listen({ resourcesListChanged: true, resourceSubscriptions: [uri] });
    expect(sub.honoredFilter).toMatchObject({ resourcesListChanged: true, resourceSubscriptions: [uri] });
    // Another request of the same tenant makes the (pooled) upstream send updates and change its resource list.
    const caller = await client('2026-07-28');
    await caller.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    await updated;
    await caller.callTool({
      name: 'gzip-file-as-resource',
      arguments: { name: 'hello.txt.gz', data: 'data:text/plain;base64,aGVsbG8=', outputType: 'resourceLink' },
    });
    await listChanged;
    await caller.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    expect(got.find((n) => n.method === 'notifications/resources/updated')?.params).toMatchObject({ uri });
    // Tenant t2 has its own upstream and bus (delivery on a bus is synchronous, so it would have arrived by now).
    expect(otherGot).toEqual([]);
    await sub.close();
    await otherSub.close();
    expect(await sub.closed).toBe('local');
  });
});
