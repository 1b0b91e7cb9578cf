// The real gateway (startGateway: NestJS, MCP module) with the real config loader and the real audit store
// (SQLite): API-key identity, calls of both protocol eras through /mcp/everything, the audit event durable before
// the response arrives, and upstream processes gone after close.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '@atom-gov/config';
import { openAuditStore, type AuditStore } from '@atom-gov/audit';
import { startGateway, type RunningGateway } from '@atom-gov/gateway';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const key = 'agk_test_0123456789';
let gateway: RunningGateway;
let audit: AuditStore;
let base: string;
const clients: Client[] = [];
/** Children of this process before the gateway started (the suite's shared services from global setup). */
let servicePids = new Set<number>();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-mcp-e2e-'));
  const configPath = join(dir, 'mcp-governance.yaml');
  writeFileSync(
    configPath,
    `atom_gov:
  version: 1.0.0
  gateway:
    host: 127.0.0.1
    port: 0
    api_keys:
      - name: ci
        sha256: ${createHash('sha256').update(key).digest('hex')}
        tenant: acme
        user: ci-bot
        roles: [dev]
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: [${JSON.stringify(everything)}, stdio]
`,
  );
  const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
  servicePids = new Set(childPids());
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  // Temporal is not needed for MCP forwarding; the gateway's Temporal connection is lazy.
  gateway = await startGateway({ config, audit, temporalAddress: '127.0.0.1:1', port: 0, logger: false });
  base = gateway.url;
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await gateway?.close();
  await audit?.close();
});

/** Live child processes of this process (the gateway runs in-process here, so its upstreams are our children). */
function childPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z' && !servicePids.has(Number(d))) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

async function connect(
  headers: Record<string, string>,
  options: ConstructorParameters<typeof Client>[1] = {},
): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1' }, options);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp/everything`), { requestInit: { headers } }),
  );
  clients.push(client);
  return client;
}

describe('gateway /mcp/:server', () => {
  it('rejects a missing or unknown API key with 401', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(`${base}/mcp/everything`, { method: 'POST', headers, body });
    expect(none.status).toBe(401);
    const wrong = await fetch(`${base}/mcp/everything`, {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer nope' },
      body,
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { message: 'Unauthorized: unknown API key' } });
    const denied = await audit.query({ tenant: 'unauthenticated' });
    expect(denied.length).toBeGreaterThanOrEqual(2);
    expect(denied[0]).toMatchObject({ decision: 'deny', outcome: 'denied', server: 'everything' });
  });

  it('answers 404 with a JSON-RPC error for an unknown server', async () => {
    const res = await fetch(`${base}/mcp/nope`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: { message: expect.stringContaining("Unknown MCP server 'nope'") },
    });
  });

  it('forwards a call as the key’s tenant/user and the audit event is stored before the response', async () => {
    const client = await connect({ authorization: `Bearer ${key}` });
    const result = await client.callTool({ name: 'echo', arguments: { message: 'audited' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: audited' }]);
    // Queried right after the response: no waiting, the append completed before the answer left.
    const events = await audit.query({ server: 'everything', tenant: 'acme' });
    const call = events.find((e) => e.method === 'tools/call' && e.target === 'echo');
    expect(call).toMatchObject({ tenant: 'acme', user: 'ci-bot', decision: 'allow', outcome: 'ok' });
    expect(events.some((e) => e.method === 'initialize')).toBe(true);
  });

  it('relays progress and a sampling request to the session that caused it', async () => {
    const client = await connect({ authorization: `Bearer ${key}` }, { capabilities: { sampling: {} } });
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant',
      content: { type: 'text', text: 'e2e sample' },
      model: 'm',
    }));
    const steps: number[] = [];
    await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.1, steps: 3 } },
      { onprogress: (p) => steps.push(p.progress) },
    );
    expect(steps.slice(0, 2)).toEqual([1, 2]);
    const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi' } });
    expect(JSON.stringify(sampled.content)).toContain('e2e sample');
  });

  it('serves a 2026-07-28 client (stateless) next to 2025 sessions', async () => {
    const client = await connect(
      { authorization: `Bearer ${key}` },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const r = await client.callTool({ name: 'echo', arguments: { message: 'modern' } });
    expect(r.content).toEqual([{ type: 'text', text: 'Echo: modern' }]);
  });

  it('closing the gateway ends every session and kills every upstream process', async () => {
    expect(childPids().length).toBeGreaterThan(0);
    await gateway.close();
    const deadline = Date.now() + 5000;
    while (childPids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const cmdline = (pid: number) => {
      try {
        return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
      } catch {
        return `${pid} (gone)`;
      }
    };
    expect(childPids().map(cmdline)).toEqual([]);
  });
});
