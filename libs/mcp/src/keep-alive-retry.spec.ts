// The keep-alive race on the Streamable HTTP fast path: an upstream closing an idle pooled connection just as a
// request goes out on it. A local HTTP server decides per request what happens on its connection (answer, close
// before reading the request with FIN or RST, process and close without answering, start an answer and close), so
// each case is deterministic. The request is sent again exactly once, and only when it provably never reached the
// upstream application; a request that may have been processed is never sent twice.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { StreamableHTTPClientTransport, type JSONRPCRequest } from '@modelcontextprotocol/client';
import { HttpRawChannel } from './raw-upstream.js';

type Action = 'answer' | 'close-fin' | 'close-rst' | 'process-then-close' | 'partial-then-close';

interface Arrival {
  id: string | number;
  /** Not the first request on its connection (a pooled keep-alive connection was reused). */
  reused: boolean;
  action: Action;
}

interface Upstream {
  url: URL;
  /** Ids of requests the server application processed, in order. */
  processed: Array<string | number>;
  /** Every request that reached the server's socket, with what the server did. */
  arrivals: Arrival[];
  connections: number;
  close(): Promise<void>;
}

/** `script` decides what happens to each request that reaches the server. */
async function startUpstream(script: (arrival: Omit<Arrival, 'action'>) => Action): Promise<Upstream> {
  const processed: Array<string | number> = [];
  const arrivals: Arrival[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let n = 0;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8')) as JSONRPCRequest;
        buffer = buffer.subarray(end + 4 + length);
        const reused = ++n > 1;
        const action = script({ id: body.id, reused });
        arrivals.push({ id: body.id, reused, action });
        if (action === 'close-fin') return void socket.end(); // the idle timeout fired: the request is never read
        if (action === 'close-rst') return void socket.resetAndDestroy();
        processed.push(body.id);
        if (action === 'process-then-close') return void socket.end();
        if (action === 'partial-then-close') return void socket.end('HTTP/1.1 200 OK\r\ncontent-');
        const answer = JSON.stringify({ jsonrpc: '2.0', id: body.id, result: { echoed: body.method } });
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\n' +
            `keep-alive: timeout=60\r\ncontent-length: ${Buffer.byteLength(answer)}\r\n\r\n${answer}`,
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  return {
    url,
    processed,
    arrivals,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

let upstream: Upstream | undefined;
let channel: HttpRawChannel | undefined;
afterEach(async () => {
  await channel?.close();
  await upstream?.close();
  channel = upstream = undefined;
});

function open(u: Upstream): HttpRawChannel {
  // The SDK transport only lends its session id and protocol version (none here) and sends cancellations.
  return new HttpRawChannel(u.url, {}, new StreamableHTTPClientTransport(u.url), () => {}, 'keep-alive-test');
}

const request = (id: number): JSONRPCRequest => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x' } });
const send = (c: HttpRawChannel, id: number) => c.request(request(id), new AbortController().signal);

/** The first request that arrives on a reused connection gets `action`; every other one is answered. */
function onceOnReused(action: Action): (a: Omit<Arrival, 'action'>) => Action {
  let done = false;
  return ({ reused }) => {
    if (!reused || done) return 'answer';
    done = true;
    return action;
  };
}

/** Sends ids 1..n one after the other (undici reuses idle pooled connections from the third on). */
async function sequence(c: HttpRawChannel, n: number): Promise<Array<PromiseSettledResult<unknown>>> {
  const out: Array<PromiseSettledResult<unknown>> = [];
  for (let id = 1; id <= n; id++) out.push((await Promise.allSettled([send(c, id)]))[0]!);
  return out;
}

describe('keep-alive race on pooled upstream connections', () => {
  it.each([
    ['FIN (undici: UND_ERR_SOCKET other side closed)', 'close-fin'],
    ['RST (ECONNRESET)', 'close-rst'],
  ] as const)(
    'a reused connection closed by the upstream before it read the request (%s): sent again once, on another connection',
    async (_label, close) => {
      upstream = await startUpstream(onceOnReused(close));
      channel = open(upstream);
      const results = await sequence(channel, 5);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      const dropped = upstream.arrivals.filter((a) => a.action === close);
      expect(dropped).toHaveLength(1);
      // The dropped request arrived twice (dropped on the reused connection, answered after), processed once.
      expect(upstream.arrivals.filter((a) => a.id === dropped[0]!.id)).toHaveLength(2);
      expect(upstream.processed).toEqual([1, 2, 3, 4, 5]);
    },
  );

  it('sends again at most once: a request dropped on every connection fails after its second attempt', async () => {
    upstream = await startUpstream(({ id }) => (id === 99 ? 'close-fin' : 'answer'));
    channel = open(upstream);
    // Warm until a connection was reused, so the next request goes out on a reused connection too.
    for (let id = 1; !upstream.arrivals.some((a) => a.reused); id++) await send(channel, id);
    await expect(send(channel, 99)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    const attempts = upstream.arrivals.filter((a) => a.id === 99);
    expect(attempts[0]!.reused).toBe(true);
    expect(attempts).toHaveLength(2);
    expect(upstream.processed).not.toContain(99);
  });

  it('a fresh connection closed without an answer is not retried (the request may have been processed)', async () => {
    upstream = await startUpstream(() => 'process-then-close');
    channel = open(upstream);
    await expect(send(channel, 1)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET', message: 'other side closed' });
    expect(upstream.arrivals).toEqual([{ id: 1, reused: false, action: 'process-then-close' }]);
    expect(upstream.processed).toEqual([1]);
  });

  it('a reused connection closed after the first bytes of the answer is not retried', async () => {
    upstream = await startUpstream(onceOnReused('partial-then-close'));
    channel = open(upstream);
    const results = await sequence(channel, 5);
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i + 1] : []));
    expect(failed).toHaveLength(1);
    expect(upstream.arrivals.filter((a) => a.id === failed[0])).toEqual([
      { id: failed[0], reused: true, action: 'partial-then-close' },
    ]);
    expect(upstream.processed).toEqual([1, 2, 3, 4, 5]);
  });
});
