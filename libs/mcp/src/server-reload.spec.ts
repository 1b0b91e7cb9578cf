// McpGateway.updateServers (hot reload of the governed servers) with real upstreams from npm (server-everything,
// server-memory) and the official SDK client: added servers are served at once, removed ones end their sessions
// (calls in flight answered with SERVER_REMOVED, upstream process groups gone, new requests 404 naming the
// removal), changed ones serve new sessions with the new definition while open sessions keep theirs.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { SERVER_REMOVED } from './mcp-gateway.service.js';
import { everythingStdio, groupAlive, groupGone, startHarness, type Harness } from './spec-harness.js';
import type { UpstreamServerConfig } from './types.js';

const memoryPath = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-memory/dist/index.js');

function memoryStdio(name: string): UpstreamServerConfig {
  return {
    name,
    transport: 'stdio',
    command: process.execPath,
    args: [memoryPath],
    env: {},
    headers: {},
    share: false,
  };
}

let harness: Harness | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await harness?.close();
  harness = undefined;
});

async function connect(h: Harness, server: string): Promise<Client> {
  const client = new Client({ name: 'reload-spec', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${h.base}/mcp/${server}`)));
  clients.push(client);
  return client;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

/** The upstream pid of the gateway's only session of `server` (its process group). */
function pidOf(h: Harness, before: number[] = []): number {
  const pids = h.gateway.upstreamPids().filter((p) => !before.includes(p));
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

describe('McpGateway.updateServers', () => {
  it('serves an added server at once, without touching the sessions of the others', async () => {
    harness = await startHarness({ servers: [everythingStdio()] });
    const everything = await connect(harness, 'everything');
    const unknown = await fetch(`${harness.base}/mcp/memory`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("Unknown MCP server 'memory'");

    const update = harness.gateway.updateServers([everythingStdio(), memoryStdio('memory')]);
    expect(update).toMatchObject({ added: ['memory'], removed: [], changed: [] });
    await update.settled;

    const memory = await connect(harness, 'memory');
    expect(await toolNames(memory)).toContain('create_entities');
    expect(await toolNames(everything)).toContain('echo');
    expect(harness.gateway.serverNames().sort()).toEqual(['everything', 'memory']);
  });

  it('ends the sessions of a removed server: the call in flight gets SERVER_REMOVED, the process group is gone, new requests get 404', async () => {
    harness = await startHarness({ servers: [everythingStdio(), memoryStdio('memory')] });
    const memory = await connect(harness, 'memory');
    const memoryPid = pidOf(harness);
    const client = await connect(harness, 'everything');
    const pid = pidOf(harness, [memoryPid]);

    // A long call in flight when the server goes: its first progress step proves it reached the upstream.
    let started!: () => void;
    const reached = new Promise<void>((r) => (started = r));
    const call = client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
      { onprogress: () => started(), timeout: 60_000 },
    );
    const outcome = call.then(
      () => 'answered',
      (error: unknown) => error as Error & { code?: number },
    );
    await reached;

    const update = harness.gateway.updateServers([memoryStdio('memory')]);
    expect(update).toMatchObject({ added: [], removed: ['everything'], changed: [] });
    await update.settled;

    const error = await outcome;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error & { code?: number }).code).toBe(SERVER_REMOVED);
    expect((error as Error).message).toContain("MCP server 'everything' was removed from the gateway configuration");
    expect(await groupGone(pid)).toBe(true);
    expect(harness.gateway.sessionCount).toBe(1);

    // The old session's next request and any new session get a 404 that names the removal.
    const next = await fetch(`${harness.base}/mcp/everything`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(next.status).toBe(404);
    expect(((await next.json()) as { error: { message: string } }).error.message).toMatch(
      /^MCP server 'everything' was removed from the gateway configuration at \d{4}-.*Configured servers: memory$/,
    );
    await expect(client.listTools()).rejects.toThrow(/removed from the gateway configuration/);

    // The other server's session kept its upstream.
    expect(groupAlive(memoryPid)).toBe(true);
    expect(await toolNames(memory)).toContain('read_graph');

    // Added again: served again.
    harness.gateway.updateServers([memoryStdio('memory'), everythingStdio()]);
    expect(await toolNames(await connect(harness, 'everything'))).toContain('echo');
  });

  it('serves new sessions of a changed server with the new definition while an open session keeps its upstream', async () => {
    harness = await startHarness({ servers: [memoryStdio('svc')] });
    const before = await connect(harness, 'svc');
    const oldPid = pidOf(harness);
    expect(await toolNames(before)).toContain('create_entities');

    const update = harness.gateway.updateServers([everythingStdio({ name: 'svc' })]);
    expect(update).toMatchObject({ added: [], removed: [], changed: ['svc'] });
    await update.settled;

    const after = await connect(harness, 'svc');
    expect(await toolNames(after)).toContain('echo');
    expect(await toolNames(after)).not.toContain('create_entities');
    // The open session still talks to the process it had.
    expect(await toolNames(before)).toContain('create_entities');
    expect(groupAlive(oldPid)).toBe(true);

    // Ending the session (DELETE) ends its upstream.
    await (before.transport as StreamableHTTPClientTransport).terminateSession();
    expect(await groupGone(oldPid)).toBe(true);
    expect((await after.callTool({ name: 'echo', arguments: { message: 'still here' } })).content).toEqual([
      { type: 'text', text: 'Echo: still here' },
    ]);
  });

  it('a definition change that leaves the upstream as it was (audit level, policies) retires nothing', async () => {
    harness = await startHarness({ servers: [{ ...memoryStdio('svc'), share: true }] });
    const a = await connect(harness, 'svc');
    const update = harness.gateway.updateServers([{ ...memoryStdio('svc'), share: true, localOnly: false }]);
    expect(update).toMatchObject({ added: [], removed: [], changed: [] });
    const b = await connect(harness, 'svc');
    // share: true, same tenant: both sessions are on the one upstream process.
    expect(harness.gateway.upstreamPids()).toHaveLength(1);
    expect(await toolNames(a)).toEqual(await toolNames(b));
  });
});
