// The aggregate endpoint `/mcp` with real upstreams from npm (server-everything, server-memory, server-filesystem)
// and a v1-SDK fixture whose tool names are given on its command line; the assistant is the official SDK client.
// Names are `<server>__<name>`, calls reach the right upstream with the prefix stripped, each request goes through
// the interceptor and the operation sink with the real server and name, a server refused for the caller is absent,
// colliding names are refused on every side (listing, call, audit, alert), pages merge, reload removes a server.
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, ProtocolError, StreamableHTTPClientTransport, type Tool } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { AGGREGATE_COLLISION } from './aggregate-session.js';
import { SERVER_REMOVED } from './mcp-gateway.service.js';
import { ALLOW, type AggregateCollision, type Interceptor, type OperationRecord } from './interceptor.js';
import { everythingPath, everythingStdio, groupGone, startHarness, type Harness } from './spec-harness.js';
import type { UpstreamServerConfig } from './types.js';
import { passthroughResult } from './upstream-hub.js';

const require = createRequire(import.meta.url);
const memoryPath = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');
const filesystemPath = require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js');
const namedTools = fileURLToPath(new URL('../test/fixtures/named-tools-server.mjs', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'aggregate-spec-'));
const stdio = (name: string, args: string[], env: Record<string, string> = {}): UpstreamServerConfig => ({
  name,
  transport: 'stdio',
  command: process.execPath,
  args,
  env,
  headers: {},
  share: false,
});
const memory = stdio('memory', [memoryPath], { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') });
const files = stdio('files', [filesystemPath, dir]);
const secret = stdio('secret', [namedTools, 'secret', 'launch_codes', 'grow']);

const records: OperationRecord[] = [];
const collisions: AggregateCollision[] = [];
/** Policy stand-in: `secret` only for admins, `memory`'s delete_entities denied to everyone. */
const interceptor: Interceptor = {
  filterList: (_ctx, _kind, items) => items,
  beforeRequest: (ctx) =>
    ctx.server === 'memory' && ctx.method === 'tools/call' && ctx.name === 'delete_entities'
      ? { kind: 'deny', message: 'Denied by policy no_deletes: deleting memory is not allowed', policy: 'no_deletes' }
      : ALLOW,
  afterResult: (_ctx, _req, result) => result,
  serverVisible: (ctx) => ctx.server !== 'secret' || ctx.roles.includes('admin'),
  collisionRefused: (_ctx, c) => void collisions.push(c),
};

const clients: Client[] = [];
async function connect(h: Harness, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client(
    { name: 'aggregate-spec', version: '1' },
    { listChanged: { tools: { autoRefresh: false, onChanged: () => {} } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(`${h.base}/mcp`), { requestInit: { headers } }));
  clients.push(client);
  return client;
}

/** Every page of a listing, following the aggregate's cursors (raw requests: the SDK client's listTools pages itself). */
async function allTools(c: Client): Promise<{ tools: Tool[]; pages: number }> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const params = cursor === undefined ? {} : { cursor };
    const page = (await c.request({ method: 'tools/list', params } as never, passthroughResult)) as {
      tools: Tool[];
      nextCursor?: string;
    };
    tools.push(...page.tools);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  return { tools, pages };
}

async function directToolNames(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const c = new Client({ name: 'direct', version: '1' });
  await c.connect(new StdioClientTransport({ command: process.execPath, args, env, stderr: 'ignore' }));
  try {
    return (await c.listTools()).tools.map((t) => t.name);
  } finally {
    await c.close();
  }
}

const text = (r: unknown) =>
  ((r as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('\n');

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({
    servers: [everythingStdio(), memory, files, secret],
    interceptor,
    onOperation: async (r) => void records.push(r),
    aggregate: true,
    aggregatePageSize: 10,
  });
});
afterAll(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await harness.close();
});

describe('aggregate endpoint /mcp', () => {
  it('lists every server’s tools as <server>__<name>, in merged pages of 10, equal to the servers’ own lists', async () => {
    const client = await connect(harness);
    const { tools, pages } = await allTools(client);
    const expected = [
      ...(await directToolNames([everythingPath, 'stdio'])).map((n) => `everything__${n}`),
      ...(await directToolNames([memoryPath], memory.env)).map((n) => `memory__${n}`),
      ...(await directToolNames([filesystemPath, dir])).map((n) => `files__${n}`),
    ];
    expect(tools.map((t) => t.name)).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 10));
    const stale = client.request(
      { method: 'tools/list', params: { cursor: 'bm90LW91cnM' } } as never,
      passthroughResult,
    );
    await expect(stale).rejects.toThrow(/Invalid cursor for tools\/list/);
    // Definitions are the upstream's apart from the name.
    expect(tools.find((t) => t.name === 'everything__echo')?.inputSchema).toMatchObject({
      properties: { message: { type: 'string' } },
    });
    // Server capabilities are the union; instructions are combined with attribution.
    const caps = client.getServerCapabilities();
    expect(caps).toMatchObject({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      logging: {},
      completions: {},
    });
    const instructions = client.getInstructions() ?? '';
    expect(instructions).toContain("'everything', 'memory', 'files'");
    expect(instructions).toContain("## Server 'everything'");
    expect(instructions).toContain('Everything Server');
  });

  it('routes calls to the right upstream with the prefix stripped; records name the real server and tool', async () => {
    const client = await connect(harness);
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'via aggregate' } });
    expect(text(echo)).toBe('Echo: via aggregate');
    await client.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }] },
    });
    expect(text(await client.callTool({ name: 'memory__read_graph', arguments: {} }))).toContain('Ada');
    expect(text(await client.callTool({ name: 'files__list_allowed_directories', arguments: {} }))).toContain(dir);

    const echoRecord = records.find((r) => r.method === 'tools/call' && r.exposedAs === 'everything__echo');
    expect(echoRecord).toMatchObject({
      server: 'everything',
      target: 'echo',
      decision: 'allow',
      outcome: 'ok',
      endpoint: 'aggregate',
    });
    expect(records.find((r) => r.exposedAs === 'memory__read_graph')).toMatchObject({
      server: 'memory',
      target: 'read_graph',
    });
  });

  it('applies the per-call decision: a denied tool gets the policy’s isError result and a deny record', async () => {
    const client = await connect(harness);
    const denied = await client.callTool({ name: 'memory__delete_entities', arguments: { entityNames: ['Ada'] } });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toContain('Denied by policy no_deletes');
    expect(records.find((r) => r.exposedAs === 'memory__delete_entities')).toMatchObject({
      server: 'memory',
      target: 'delete_entities',
      decision: 'deny',
      outcome: 'denied',
      policy: 'no_deletes',
    });
    expect(text(await client.callTool({ name: 'memory__read_graph', arguments: {} }))).toContain('Ada');
  });

  it('leaves out a server the caller may not use: not listed, not in the instructions, its names unknown', async () => {
    const client = await connect(harness);
    const names = (await allTools(client)).tools.map((t) => t.name);
    expect(names.some((n) => n.startsWith('secret__'))).toBe(false);
    expect(client.getInstructions()).not.toContain('secret');
    const call = client.callTool({ name: 'secret__launch_codes', arguments: {} });
    await expect(call).rejects.toThrow(/Tool secret__launch_codes not found/);
    expect(harness.gateway.upstreamPids().length).toBeGreaterThan(0);
    // An admin sees and reaches it.
    const admin = await connect(harness, { 'x-test-roles': 'admin' });
    expect((await allTools(admin)).tools.map((t) => t.name)).toContain('secret__launch_codes');
    expect(text(await admin.callTool({ name: 'secret__launch_codes', arguments: { text: 'x' } }))).toBe(
      'secret:launch_codes {"text":"x"}',
    );
  });

  it('serves prompts, completions and resources (URIs unchanged, templates routed) from their servers', async () => {
    const client = await connect(harness);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toContain('everything__simple-prompt');
    const prompt = await client.getPrompt({ name: 'everything__simple-prompt' });
    expect(JSON.stringify(prompt.messages)).toContain('simple prompt');
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
      argument: { name: 'department', value: 'En' },
    });
    expect(completion.completion.values).toContain('Engineering');

    const resources = (await client.listResources()).resources.map((r) => r.uri);
    const direct = new Client({ name: 'direct', version: '1' });
    await direct.connect(new StdioClientTransport({ command: process.execPath, args: [everythingPath, 'stdio'] }));
    const everythingUris = (await direct.listResources()).resources.map((r) => r.uri);
    await direct.close();
    expect(resources).toEqual(expect.arrayContaining(everythingUris));
    const read = await client.readResource({ uri: everythingUris[0]! });
    expect(read.contents[0]?.uri).toBe(everythingUris[0]);
    const templated = await client.readResource({ uri: 'demo://resource/dynamic/text/7' });
    expect(JSON.stringify(templated.contents)).toContain('7');
    expect(records.find((r) => r.method === 'resources/read' && r.target === everythingUris[0])).toMatchObject({
      server: 'everything',
      endpoint: 'aggregate',
    });
  });

  it('forwards what upstreams send: tools list_changed, resources/updated of a subscription', async () => {
    let changed!: () => void;
    const listChanged = new Promise<void>((r) => (changed = r));
    const admin = new Client(
      { name: 'aggregate-spec', version: '1' },
      { listChanged: { tools: { autoRefresh: false, onChanged: () => changed() } } },
    );
    await admin.connect(
      new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp`), {
        requestInit: { headers: { 'x-test-roles': 'admin' } },
      }),
    );
    clients.push(admin);
    expect(text(await admin.callTool({ name: 'secret__grow', arguments: {} }))).toBe('secret:grow grown-2');
    await listChanged;
    expect((await allTools(admin)).tools.map((t) => t.name)).toContain('secret__grown-2');

    const uri = 'demo://resource/static/document/architecture.md';
    let updated!: (uri: unknown) => void;
    const update = new Promise<unknown>((r) => (updated = r));
    admin.setNotificationHandler('notifications/resources/updated', (n) => updated(n.params.uri));
    await admin.subscribeResource({ uri });
    // server-everything then sends an update for each subscribed URI every 5 s.
    await admin.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
    expect(await update).toBe(uri);
    expect(records.find((r) => r.method === 'resources/subscribe' && r.target === uri)).toMatchObject({
      server: 'everything',
      endpoint: 'aggregate',
    });
  });

  it('ending the session kills every member upstream’s process group', async () => {
    const before = harness.gateway.upstreamPids();
    const client = await connect(harness);
    await client.listTools();
    const pids = harness.gateway.upstreamPids().filter((p) => !before.includes(p));
    expect(pids).toHaveLength(3); // everything, memory, files (secret is not started for this caller)
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    for (const pid of pids) expect(await groupGone(pid)).toBe(true);
  });

  it('answers hostile requests with the precise error: bad Origin, malformed JSON, oversized body, unknown session', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${harness.base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body,
      });
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    });
    expect((await post(init, { origin: 'https://evil.example' })).status).toBe(403);
    const malformed = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: number } }).error.code).toBe(-32700);
    expect((await post(`"${'x'.repeat(5 * 1024 * 1024)}"`)).status).toBe(413);
    const unknown = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {
      'mcp-session-id': 'no-such-session',
    });
    expect(unknown.status).toBe(404);
    // Still serving.
    expect((await (await connect(harness)).listTools()).tools.length).toBeGreaterThan(0);
  });

  it('refuses a session of another caller', async () => {
    const client = await connect(harness);
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const stolen = await fetch(`${harness.base}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'x-test-user': 'mallory',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(stolen.status).toBe(404);
  });
});

describe('aggregate endpoint, 2026-07-28 (stateless)', () => {
  /** With sampling declared server-everything offers one more tool, so comparisons with a plain client omit it. */
  async function modern(withSampling = false): Promise<{ client: Client; sampling: unknown[] }> {
    const sampling: unknown[] = [];
    const client = new Client(
      { name: 'aggregate-2026', version: '1' },
      {
        capabilities: withSampling ? { sampling: {} } : {},
        versionNegotiation: { mode: { pin: '2026-07-28' } },
      },
    );
    if (withSampling)
      client.setRequestHandler('sampling/createMessage', async (request) => {
        sampling.push(request.params.messages);
        return { role: 'assistant', content: { type: 'text', text: 'sampled: 42' }, model: 'test-model' };
      });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp`)));
    clients.push(client);
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    return { client, sampling };
  }

  it('discover, merged pages, routed calls and per-call decisions as for a 2025 session', async () => {
    const { client } = await modern();
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, prompts: {}, resources: {} });
    expect(client.getInstructions()).toContain("## Server 'everything'");
    const legacy = await connect(harness);
    const modernTools = await allTools(client);
    expect(modernTools.tools.map((t) => t.name)).toEqual((await allTools(legacy)).tools.map((t) => t.name));
    expect(modernTools.pages).toBeGreaterThan(1);
    expect(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'stateless' } }))).toBe(
      'Echo: stateless',
    );
    const denied = await client.callTool({ name: 'memory__delete_entities', arguments: { entityNames: ['x'] } });
    expect(text(denied)).toContain('Denied by policy no_deletes');
    await expect(client.callTool({ name: 'secret__launch_codes', arguments: {} })).rejects.toThrow(/not found/);
    const read = await client.readResource({ uri: 'demo://resource/dynamic/text/3' });
    expect(JSON.stringify(read.contents)).toContain('3');
    expect(
      records.find((r) => r.exposedAs === 'everything__echo' && r.outcome === 'ok' && r.sessionId !== undefined),
    ).toMatchObject({ server: 'everything', target: 'echo', endpoint: 'aggregate' });
  });

  it('a listen stream gets the upstreams’ list_changed and the updates of a resource held on its server', async () => {
    const uri = 'demo://resource/static/document/architecture.md';
    const { client: listener } = await modern();
    const arrived = (method: 'notifications/resources/updated' | 'notifications/resources/list_changed') =>
      new Promise<unknown>((resolve) => listener.setNotificationHandler(method, (n) => resolve(n.params)));
    const updated = arrived('notifications/resources/updated');
    const listChanged = arrived('notifications/resources/list_changed');
    const sub = await listener.listen({ resourcesListChanged: true, resourceSubscriptions: [uri] });
    expect(sub.honoredFilter).toMatchObject({ resourcesListChanged: true, resourceSubscriptions: [uri] });
    // Another request of the tenant makes the pooled upstream send updates and change its resource list.
    const { client: caller } = await modern();
    await caller.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
    expect(await updated).toMatchObject({ uri });
    await caller.callTool({
      name: 'everything__gzip-file-as-resource',
      arguments: { name: 'hello.txt.gz', data: 'data:text/plain;base64,aGVsbG8=', outputType: 'resourceLink' },
    });
    await listChanged;
    await caller.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
    await sub.close();
    // A URI no server of the endpoint lists cannot be held.
    await expect(listener.listen({ resourceSubscriptions: ['nowhere://x'] })).rejects.toThrow(
      /not listed by any server/,
    );
  });

  it('an upstream’s sampling request becomes an input_required round and resumes the call', async () => {
    const { client, sampling } = await modern(true);
    const result = await client.callTool(
      { name: 'everything__trigger-sampling-request', arguments: { prompt: 'What is 6*7?', maxTokens: 20 } },
      { timeout: 30_000 },
    );
    expect(JSON.stringify(result.content)).toContain('sampled: 42');
    expect(sampling).toHaveLength(1);
  });
});

describe('aggregate endpoint collisions', () => {
  let h: Harness;
  beforeAll(async () => {
    // `a` offers b__c and d, `a__b` offers c and e: both would expose `a__b__c`.
    h = await startHarness({
      servers: [
        stdio('a', [namedTools, 'A', 'b__c', 'd']),
        stdio('a__b', [namedTools, 'AB', 'c', 'e']),
        everythingStdio({ name: 'ev1' }),
        everythingStdio({ name: 'ev2' }),
      ],
      interceptor,
      onOperation: async (r) => void records.push(r),
      aggregate: true,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses a prefixed name two servers produce: absent from the listing, its call refused, audited and alerted', async () => {
    const client = await connect(h);
    const names = (await allTools(client)).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['a__d', 'a__b__e', 'ev1__echo', 'ev2__echo']));
    expect(names).not.toContain('a__b__c');
    const refused = await client.callTool({ name: 'a__b__c', arguments: {} });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("Tool 'a__b__c' is refused on the aggregate endpoint");
    expect(text(refused)).toContain("'a' (b__c) and 'a__b' (c)");
    // The unambiguous names of both servers still reach the right one.
    expect(text(await client.callTool({ name: 'a__d', arguments: {} }))).toBe('A:d {}');
    expect(text(await client.callTool({ name: 'a__b__e', arguments: {} }))).toBe('AB:e {}');

    const audited = records.filter((r) => r.exposedAs === 'a__b__c' && r.policy === 'aggregate-collision');
    expect(audited.map((r) => [r.method, r.server, r.target, r.decision]).sort()).toEqual([
      ['tools/call', 'a', 'b__c', 'deny'],
      ['tools/call', 'a__b', 'c', 'deny'],
      ['tools/list', 'a', 'b__c', 'deny'],
      ['tools/list', 'a__b', 'c', 'deny'],
    ]);
    expect(collisions.filter((c) => c.exposedName === 'a__b__c')).toEqual([
      expect.objectContaining({
        kind: 'tools',
        owners: [
          { server: 'a', name: 'b__c' },
          { server: 'a__b', name: 'c' },
        ],
      }),
    ]);
  });

  it('refuses resource URIs and templates two servers both offer, and reads of them', async () => {
    const client = await connect(h);
    expect((await client.listResources()).resources).toEqual([]);
    expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
    const direct = new Client({ name: 'direct', version: '1' });
    await direct.connect(new StdioClientTransport({ command: process.execPath, args: [everythingPath, 'stdio'] }));
    const uri = (await direct.listResources()).resources[0]!.uri;
    await direct.close();
    const read = client.readResource({ uri });
    await expect(read).rejects.toThrow(ProtocolError);
    await expect(read).rejects.toMatchObject({ code: AGGREGATE_COLLISION });
    await expect(client.readResource({ uri: 'demo://resource/dynamic/text/1' })).rejects.toThrow(
      /refused on the aggregate endpoint: servers 'ev1' .* and 'ev2'/,
    );
    expect(collisions.some((c) => c.kind === 'resources' && c.exposedName === uri)).toBe(true);
  });
});

describe('aggregate endpoint and hot reload', () => {
  it('a removed server leaves open aggregate sessions (list_changed, gone, its call in flight ends); an added one joins', async () => {
    const h = await startHarness({ servers: [everythingStdio(), memory], aggregate: true });
    try {
      let changed!: () => void;
      let listChanged = new Promise<void>((r) => (changed = r));
      const client = new Client(
        { name: 'aggregate-spec', version: '1' },
        { listChanged: { tools: { autoRefresh: false, onChanged: () => changed() } } },
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(`${h.base}/mcp`)));
      clients.push(client);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('everything__echo');
      let started!: () => void;
      const reached = new Promise<void>((r) => (started = r));
      const call = client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
        { onprogress: () => started() },
      );
      await reached;
      h.gateway.updateServers([memory]);
      await expect(call).rejects.toMatchObject({ code: SERVER_REMOVED });
      await listChanged;
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names.some((n) => n.startsWith('everything__'))).toBe(false);
      expect(names).toContain('memory__read_graph');

      listChanged = new Promise<void>((r) => (changed = r));
      await h.gateway.updateServers([memory, everythingStdio()]).settled;
      await listChanged;
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('everything__echo');
      expect(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'back' } }))).toBe(
        'Echo: back',
      );
    } finally {
      await h.close();
    }
  });

  it('is off unless enabled: /mcp answers 404 naming the setting', async () => {
    const h = await startHarness({ servers: [] });
    try {
      const res = await fetch(`${h.base}/mcp`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('gateway.aggregate: true');
    } finally {
      await h.close();
    }
  });
});
