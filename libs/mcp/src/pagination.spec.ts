// Pagination cursors, _meta, structured content, audio, embedded resources, resource links and tool errors pass
// through unchanged: a paginating real MCP server (v1 SDK) directly vs through the gateway.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, ProtocolError, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startHarness, type Harness } from './spec-harness.js';
import { passthroughResult } from './upstream-hub.js';

const fixture = fileURLToPath(new URL('../test/fixtures/paging-server.mjs', import.meta.url));
let harness: Harness;
const clients: Client[] = [];
beforeAll(async () => {
  harness = await startHarness({
    servers: [
      {
        name: 'paging',
        transport: 'stdio',
        command: process.execPath,
        args: [fixture],
        env: {},
        headers: {},
        share: false,
      },
    ],
  });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await harness.close();
});

async function connect(t: Transport): Promise<Client> {
  const c = new Client({ name: 'paging-spec', version: '1' });
  await c.connect(t);
  clients.push(c);
  return c;
}

async function raw(c: Client, method: string, params?: Record<string, unknown>): Promise<unknown> {
  try {
    return await c.request({ method, params } as never, passthroughResult);
  } catch (error) {
    if (error instanceof ProtocolError) return { error: { code: error.code, message: error.message } };
    throw error;
  }
}

/** Walks every page with the server's own cursors; returns the pages as received. */
async function pages(c: Client, method: string): Promise<unknown[]> {
  const out: Array<{ nextCursor?: string }> = [];
  let cursor: string | undefined;
  do {
    const r = (await raw(c, method, cursor ? { cursor } : undefined)) as { nextCursor?: string };
    out.push(r);
    cursor = r.nextCursor;
  } while (cursor && out.length < 10);
  return out;
}

describe('pagination and content fidelity', () => {
  it('every page, cursor and _meta is identical', async () => {
    const direct = await connect(
      new StdioClientTransport({ command: process.execPath, args: [fixture], stderr: 'ignore' }),
    );
    const gw = await connect(new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp/paging`)));
    expect(gw.getInstructions()).toBe('Lists come in pages of 3.');
    expect(gw.getServerVersion()).toEqual(direct.getServerVersion());
    for (const method of ['tools/list', 'resources/list', 'prompts/list', 'resources/templates/list']) {
      const [a, b] = [await pages(direct, method), await pages(gw, method)];
      expect({ method, b }).toEqual({ method, b: a });
    }
    expect((await pages(gw, 'tools/list')).length).toBe(3);
    for (const [method, params] of [
      ['tools/call', { name: 'tool-0', arguments: { n: 21 } }],
      ['tools/call', { name: 'tool-1', arguments: {} }],
      ['tools/call', { name: 'tool-2', arguments: {} }],
      ['tools/call', { name: 'tool-7', arguments: {} }],
      ['resources/read', { uri: 'paging://item/5' }],
      ['tools/list', { cursor: 'garbage-cursor' }],
    ] as const) {
      expect({ method, params, r: await raw(gw, method, params) }).toEqual({
        method,
        params,
        r: await raw(direct, method, params),
      });
    }
  });
});
