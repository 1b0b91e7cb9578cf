// The MCP module in a Nest app with the real config loader and the real audit store (SQLite): API-key identity,
// a call through /mcp/everything, and the audit event durable before the response arrives.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '@atom-gov/config';
import { openAuditStore, type AuditStore } from '@atom-gov/audit';
import { McpModule } from '../apps/gateway/src/mcp/mcp.module.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const key = 'agk_test_0123456789';
let app: INestApplication;
let audit: AuditStore;
let base: string;
const clients: Client[] = [];

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
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  @Module({ imports: [McpModule.forRoot({ config, audit })] })
  class TestModule {}
  app = await NestFactory.create(TestModule, { logger: false, bodyParser: false });
  await app.listen(0, '127.0.0.1');
  base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await app?.close();
  await audit?.close();
});

async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1' });
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
});
