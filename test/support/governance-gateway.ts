// Starts the real gateway (NestJS, MCP module, governance module) on a config written to a temp dir, with the
// real audit store (SQLite) and real upstreams from npm; clients are the official MCP SDK client.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '@atom-gov/config';
import { openAuditStore, type AuditStore } from '@atom-gov/audit';
import { startGateway, type RunningGateway } from '@atom-gov/gateway';

const require = createRequire(import.meta.url);
export const UPSTREAMS = {
  everything: [require.resolve('@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'],
  memory: [require.resolve('@modelcontextprotocol/server-memory/dist/index.js')],
} as const;

export interface Caller {
  key: string;
  tenant: string;
  user: string;
  roles: string[];
}

export const CALLERS = {
  alice: { key: 'agk_alice_0123456789', tenant: 'acme', user: 'alice', roles: ['dev'] },
  bob: { key: 'agk_bob_01234567890', tenant: 'acme', user: 'bob', roles: ['dev'] },
  carol: { key: 'agk_carol_0123456789', tenant: 'globex', user: 'carol', roles: ['contractor'] },
} satisfies Record<string, Caller>;

/** A `servers:` entry mapping a seed server name to a real upstream. */
export function server(name: string, upstream: keyof typeof UPSTREAMS, extra = ''): string {
  const [script, ...args] = UPSTREAMS[upstream];
  return `    - name: ${name}
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([script, ...args])}
${extra}`;
}

export interface GovernedGateway {
  dir: string;
  configPath: string;
  url: string;
  audit: AuditStore;
  connect(caller: Caller, server: string): Promise<Client>;
  close(): Promise<void>;
}

/**
 * `body` is everything under `atom_gov:` after the gateway block (servers, policy_files, tenants...);
 * `opts.gateway` holds further keys of the gateway block itself (`aggregate: true`), one per line.
 */
export async function startGoverned(
  body: string,
  files: Record<string, string> = {},
  opts: { gateway?: string[] } = {},
): Promise<GovernedGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-gov-e2e-'));
  const configPath = join(dir, 'mcp-governance.yaml');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const keys = Object.values(CALLERS)
    .map(
      (c) => `      - name: ${c.user}
        sha256: ${createHash('sha256').update(c.key).digest('hex')}
        tenant: ${c.tenant}
        user: ${c.user}
        roles: ${JSON.stringify(c.roles)}`,
    )
    .join('\n');
  writeFileSync(
    configPath,
    `atom_gov:
  version: 1.0.0
  gateway:
    host: 127.0.0.1
    port: 0
${(opts.gateway ?? []).map((line) => `    ${line}\n`).join('')}    api_keys:
${keys}
${body}`,
  );
  const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
  const audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({ config, audit, temporalAddress: '127.0.0.1:1', port: 0, logger: ['error'] });
  } catch (error) {
    await audit.close();
    throw error;
  }
  const clients: Client[] = [];
  return {
    dir,
    configPath,
    url: gateway.url,
    audit,
    async connect(caller, name) {
      const client = new Client({ name: 'gov-e2e', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/${name}`), {
          requestInit: { headers: { authorization: `Bearer ${caller.key}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await gateway.close();
      await audit.close();
    },
  };
}

/** The text of a tool result's first content item. */
export function text(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}
