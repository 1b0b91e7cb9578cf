// Upstream kinds and process hygiene against the real server-everything: stdio process groups, share: true,
// launched Streamable HTTP and legacy SSE servers, idle reaping, crashes, and the endpoint's HTTP errors.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { everythingPath, everythingStdio, groupAlive, groupGone, startHarness, type Harness } from './spec-harness.js';
import type { UpstreamServerConfig } from './types.js';

let harness: Harness | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await harness?.close();
  harness = undefined;
});

async function connect(
  server: string,
  headers: Record<string, string> = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${harness!.base}/mcp/${server}`), {
    requestInit: { headers },
  });
  const client = new Client({ name: 'spec', version: '1' });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

async function echo(client: Client, message: string): Promise<unknown> {
  const r = await client.request({ method: 'tools/call', params: { name: 'echo', arguments: { message } } });
  return r.content;
}

describe('stdio upstream process hygiene', () => {
  it('each session gets its own process group; ending the session (DELETE) kills it', async () => {
    const closed: string[] = [];
    let bothClosed!: () => void;
    const ended = new Promise<void>((resolve) => (bothClosed = resolve));
    harness = await startHarness({
      servers: [everythingStdio()],
      onSessionClosed: (id) => {
        if (closed.push(id) === 2) bothClosed();
      },
    });
    const a = await connect('everything');
    const b = await connect('everything');
    const pids = harness.gateway.upstreamPids();
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(groupAlive(pid)).toBe(true);
    await a.transport.terminateSession();
    await b.transport.terminateSession();
    for (const pid of pids) expect(await groupGone(pid)).toBe(true);
    // The session's own close completes after its process is gone (the event, not the pid, says when).
    await ended;
    expect(closed).toHaveLength(2);
    expect(harness.gateway.sessionCount).toBe(0);
  });

  it('share: true shares one upstream per tenant, a different tenant gets its own', async () => {
    harness = await startHarness({ servers: [everythingStdio({ share: true })] });
    const a1 = await connect('everything', { 'x-test-tenant': 'a', 'x-test-user': 'u1' });
    const a2 = await connect('everything', { 'x-test-tenant': 'a', 'x-test-user': 'u2' });
    const b1 = await connect('everything', { 'x-test-tenant': 'b' });
    expect(await echo(a1.client, 'one')).toEqual([{ type: 'text', text: 'Echo: one' }]);
    expect(await echo(a2.client, 'two')).toEqual([{ type: 'text', text: 'Echo: two' }]);
    expect(await echo(b1.client, 'three')).toEqual([{ type: 'text', text: 'Echo: three' }]);
    const pids = harness.gateway.upstreamPids();
    expect(pids).toHaveLength(2);
    await a1.transport.terminateSession();
    // a2 still uses the shared process.
    expect(await echo(a2.client, 'still')).toEqual([{ type: 'text', text: 'Echo: still' }]);
    await a2.transport.terminateSession();
    await b1.transport.terminateSession();
    for (const pid of pids) expect(await groupGone(pid)).toBe(true);
  });

  it('idle sessions are reaped and their upstream killed', async () => {
    let resolveClosed!: (id: string) => void;
    const closed = new Promise<string>((r) => (resolveClosed = r));
    harness = await startHarness({
      servers: [everythingStdio()],
      idleTimeoutMs: 300,
      onSessionClosed: (id) => resolveClosed(id),
    });
    const a = await connect('everything');
    const [pid] = harness.gateway.upstreamPids();
    expect(await closed).toBe(a.transport.sessionId);
    expect(await groupGone(pid!)).toBe(true);
  });

  it('an upstream crash fails the call in flight within a second', async () => {
    harness = await startHarness({ servers: [everythingStdio()] });
    const a = await connect('everything');
    const [pid] = harness.gateway.upstreamPids();
    let killedAt = 0;
    const pending = a.client.request(
      {
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
      },
      {
        onprogress: () => {
          if (!killedAt) {
            killedAt = Date.now();
            process.kill(-pid!, 'SIGKILL');
          }
        },
      },
    );
    await expect(pending).rejects.toThrow();
    expect(Date.now() - killedAt).toBeLessThan(1000);
  });
});

describe('HTTP upstreams launched by the gateway', () => {
  const launched = (mode: 'streamableHttp' | 'sse', path: string): UpstreamServerConfig => ({
    name: `everything-${mode}`,
    transport: mode === 'sse' ? 'sse' : 'streamable_http',
    args: [],
    env: {},
    headers: { 'x-upstream-secret': 's3cret' },
    url: `http://127.0.0.1:{port}${path}`,
    launch: { command: process.execPath, args: [everythingPath, mode], env: { PORT: '{port}' }, port: 'auto' },
    share: false,
  });

  it('Streamable HTTP: launched on a free port, forwarded, restarted after it dies', async () => {
    harness = await startHarness({ servers: [launched('streamableHttp', '/mcp')] });
    const a = await connect('everything-streamableHttp');
    expect(await echo(a.client, 'over http')).toEqual([{ type: 'text', text: 'Echo: over http' }]);
    const sum = await a.client.request({
      method: 'tools/call',
      params: { name: 'get-sum', arguments: { a: 1, b: 2 } },
    });
    expect(sum.content).toEqual([{ type: 'text', text: 'The sum of 1 and 2 is 3.' }]);
    const pid = harness.gateway.launchedPid('everything-streamableHttp')!;
    process.kill(-pid, 'SIGKILL');
    expect(await groupGone(pid)).toBe(true);
    const b = await connect('everything-streamableHttp');
    expect(await echo(b.client, 'after restart')).toEqual([{ type: 'text', text: 'Echo: after restart' }]);
    expect(harness.gateway.launchedPid('everything-streamableHttp')).not.toBe(pid);
  });

  it('legacy HTTP+SSE upstream', async () => {
    harness = await startHarness({ servers: [launched('sse', '/sse')] });
    const a = await connect('everything-sse');
    expect(await echo(a.client, 'over sse')).toEqual([{ type: 'text', text: 'Echo: over sse' }]);
  });
});

describe('endpoint errors', () => {
  it('unknown server, unknown session, another caller’s session, missing session', async () => {
    harness = await startHarness({ servers: [everythingStdio()] });
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${harness!.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const unknown = await post('/mcp/nope', ping);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32601, message: expect.stringContaining("Unknown MCP server 'nope'") },
    });
    const noSession = await post('/mcp/everything', ping);
    expect(noSession.status).toBe(400);
    const badSession = await post('/mcp/everything', ping, { 'mcp-session-id': 'does-not-exist' });
    expect(badSession.status).toBe(404);
    const malformed = await post('/mcp/everything', '{"jsonrpc": "2.0", ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
    const a = await connect('everything', { 'x-test-tenant': 'a' });
    const foreign = await post('/mcp/everything', ping, {
      'mcp-session-id': a.transport.sessionId!,
      'x-test-tenant': 'b',
      'mcp-protocol-version': '2025-11-25',
    });
    expect(foreign.status).toBe(404);
    // The owner still works.
    expect(await echo(a.client, 'mine')).toEqual([{ type: 'text', text: 'Echo: mine' }]);
  });
});

describe('DNS rebinding protection', () => {
  it('rejects a foreign Host or Origin with 403 and keeps serving', async () => {
    harness = await startHarness({ servers: [everythingStdio()], allowedHosts: ['127.0.0.1', 'localhost'] });
    const { request } = await import('node:http');
    const port = Number(new URL(harness.base).port);
    const send = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/mcp/everything',
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
          },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
      });
    const evilHost = await send({ host: 'evil.example:80' });
    expect(evilHost.status).toBe(403);
    expect(JSON.parse(evilHost.body)).toMatchObject({
      error: { code: -32000, message: expect.stringContaining('Forbidden') },
    });
    const evilOrigin = await send({ host: `127.0.0.1:${port}`, origin: 'https://evil.example' });
    expect(evilOrigin.status).toBe(403);
    const a = await connect('everything');
    expect(await echo(a.client, 'still serving')).toEqual([{ type: 'text', text: 'Echo: still serving' }]);
  });
});

describe('local_only servers', () => {
  it('serve loopback callers and refuse remote ones with 403', async () => {
    harness = await startHarness({ servers: [everythingStdio({ localOnly: true })] });
    const remote = await fetch(`${harness.base}/mcp/everything`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-remote': '10.1.2.3' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(remote.status).toBe(403);
    expect(await remote.json()).toMatchObject({ error: { message: expect.stringContaining('local_only') } });
    const local = await connect('everything');
    expect(await echo(local.client, 'local')).toEqual([{ type: 'text', text: 'Echo: local' }]);
  });
});
