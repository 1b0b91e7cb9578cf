// Test harness shared by this lib's specs: McpGateway behind a plain node:http server on a random port.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { McpGateway, type McpGatewayOptions } from './mcp-gateway.service.js';
import type { CallerIdentity, UpstreamServerConfig } from './types.js';

export const everythingPath = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

export function everythingStdio(overrides: Partial<UpstreamServerConfig> = {}): UpstreamServerConfig {
  return {
    name: 'everything',
    transport: 'stdio',
    command: process.execPath,
    args: [everythingPath, 'stdio'],
    env: {},
    headers: {},
    share: false,
    ...overrides,
  };
}

export interface Harness {
  gateway: McpGateway;
  base: string;
  close(): Promise<void>;
}

/** Identity per request comes from the `x-test-tenant` / `x-test-user` headers (the gateway uses API keys). */
export async function startHarness(opts: McpGatewayOptions): Promise<Harness> {
  const gateway = new McpGateway(opts);
  const http: HttpServer = createServer((req, res) => {
    const m = /^\/mcp(?:\/([^/?]+))?(?:[?]|$)/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    const identity: CallerIdentity = {
      tenant: String(req.headers['x-test-tenant'] ?? 't1'),
      user: String(req.headers['x-test-user'] ?? 'alice'),
      roles: typeof req.headers['x-test-roles'] === 'string' ? req.headers['x-test-roles'].split(',') : [],
    };
    const remote = req.headers['x-test-remote'];
    const opts = { identity, remoteAddress: typeof remote === 'string' ? remote : undefined };
    // `/mcp` alone is the aggregate endpoint.
    if (m[1] === undefined) return void gateway.handleAggregate(req, res, opts);
    void gateway.handle(decodeURIComponent(m[1]), req, res, opts);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    gateway,
    base,
    close: async () => {
      await gateway.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

/** True while any process of the group still exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) for a process group to disappear; SIGKILL delivery and reaping are asynchronous. */
export async function groupGone(pgid: number, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
