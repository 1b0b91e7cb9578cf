// The differential corpus for a client pinned to protocol revision 2026-07-28: through the gateway (stateless,
// per-request envelope) it gives the same results as a 2025 client gets from server-everything directly. Era-aware:
// the 2026-07-28 encoding adds result `_meta` (server info), `cacheScope` and `ttlMs`; those are set aside. One
// difference of the revision itself: a tool's `execution` (task support, vocabulary the revision deleted) is dropped
// by the SDK's 2026-07-28 encoder, so it is dropped from the direct 2025 answer too. Nothing else.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { corpus, normaliseTimes } from './differential-corpus.js';
import { everythingPath, everythingStdio, startHarness, type Harness } from './spec-harness.js';
import { passthroughResult } from './upstream-hub.js';

let harness: Harness;
const clients: Client[] = [];
beforeAll(async () => {
  harness = await startHarness({ servers: [everythingStdio()] });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await harness.close();
});

async function connect(era: 'legacy' | '2026-07-28'): Promise<Client> {
  const client = new Client(
    { name: `differential-${era}`, version: '1' },
    {
      capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
      ...(era === 'legacy' ? {} : { versionNegotiation: { mode: { pin: era } } }),
    },
  );
  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'sampled: 42' },
    model: 'test-model',
  }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///tmp/root', name: 'root' }] }));
  clients.push(client);
  await client.connect(
    era === 'legacy'
      ? new StdioClientTransport({ command: process.execPath, args: [everythingPath, 'stdio'], stderr: 'ignore' })
      : new StreamableHTTPClientTransport(new URL(`${harness.base}/mcp/everything`)),
  );
  return client;
}

async function call(c: Client, method: string, params?: Record<string, unknown>): Promise<unknown> {
  try {
    return await c.request({ method, params } as never, passthroughResult);
  } catch (error) {
    if (error instanceof ProtocolError)
      return { error: { code: error.code, message: error.message, data: error.data } };
    throw error;
  }
}

/** What the 2026-07-28 encoding adds to every result: set aside for the comparison. */
function withoutEraFields(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const { _meta, cacheScope, ttlMs, ...rest } = v as Record<string, unknown>;
  void cacheScope;
  void ttlMs;
  const meta = _meta as Record<string, unknown> | undefined;
  const kept = meta
    ? Object.fromEntries(Object.entries(meta).filter(([k]) => !k.startsWith('io.modelcontextprotocol/')))
    : {};
  return Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : rest;
}

/** The SDK's 2026-07-28 encoder removes `execution` from every tool (deleted vocabulary of the revision). */
function withoutDeletedVocabulary(method: string, v: unknown): unknown {
  const tools = (v as { tools?: unknown } | null)?.tools;
  if (method !== 'tools/list' || !Array.isArray(tools)) return v;
  return {
    ...(v as Record<string, unknown>),
    tools: tools.map((t: Record<string, unknown>) => {
      const { execution, ...rest } = t;
      void execution;
      return rest;
    }),
  };
}

describe('differential corpus, 2026-07-28 client through the gateway vs 2025 client directly', () => {
  it(`the corpus (${corpus.length} requests) gives the same results`, async () => {
    const [direct, modern] = [await connect('legacy'), await connect('2026-07-28')];
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const refused: Array<[string, string]> = [];
    for (const [method, params] of corpus) {
      const b = await call(modern, method, params).catch((e: unknown) => ({ refusedByClient: (e as Error).message }));
      if (typeof b === 'object' && b !== null && 'refusedByClient' in b) {
        refused.push([method, String(b.refusedByClient)]);
        continue;
      }
      const a = withoutDeletedVocabulary(method, await call(direct, method, params));
      expect({ method, params, result: normaliseTimes(withoutEraFields(b)) }).toEqual({
        method,
        params,
        result: normaliseTimes(a),
      });
    }
    // Not part of the revision (liveness is the transport's, logging levels ride the envelope, resource updates
    // come through subscriptions/listen): the SDK client does not send them.
    for (const [, message] of refused) expect(message).toMatch(/not supported by the negotiated protocol version/);
    expect(refused.map(([m]) => m)).toEqual([
      'ping',
      'logging/setLevel',
      'resources/subscribe',
      'resources/unsubscribe',
    ]);
  });
});
