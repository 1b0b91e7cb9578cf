// The forwarding fast path towards an upstream: a request of an established session goes out as one JSON-RPC
// message on the upstream connection the SDK Client opened (same session, same transport), and its response is
// taken off the wire before the Client sees it. Everything else the upstream sends meanwhile (notifications,
// server->client requests on the request's own SSE stream) is handed to the Client as if its transport had
// received it, so sampling, elicitation, logging and list_changed keep their SDK handling. This avoids the Client's
// per-request costs (fetch + web streams, schema checks, a shared AbortSignal) on the hot path.
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import {
  ProtocolError,
  type StreamableHTTPClientTransport,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Transport,
} from '@modelcontextprotocol/client';
import type { McpResult } from './interceptor.js';

/** Messages that are not the awaited response: progress routed by the hub, the rest to the SDK Client. */
export type Deliver = (message: JSONRPCMessage) => void;

export interface RawChannel {
  /** Sends one request; resolves with its result, rejects with a ProtocolError carrying the upstream's error. */
  request(message: JSONRPCRequest, signal: AbortSignal): Promise<McpResult>;
  /** Rejects everything in flight (the upstream connection closed). */
  fail(error: Error): void;
  close(): Promise<void>;
}

interface JsonRpcErrorBody {
  code: number;
  message: string;
  data?: unknown;
}

type Settle = { resolve: (result: McpResult) => void; reject: (error: Error) => void };

function isResponse(m: JSONRPCMessage): m is JSONRPCMessage & { id: string | number } {
  return 'id' in m && !('method' in m) && ('result' in m || 'error' in m);
}

function settle(m: JSONRPCMessage, s: Settle): void {
  if ('error' in m) {
    const e = m.error as JsonRpcErrorBody;
    s.reject(new ProtocolError(e.code, e.message, e.data));
  } else s.resolve((m as { result: McpResult }).result);
}

/** The upstream is told about a request the gateway gave up on, as the SDK Client would. */
function cancellation(id: string | number, reason: unknown): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    method: 'notifications/cancelled',
    params: { requestId: id, reason: String(reason instanceof Error ? reason.message : (reason ?? 'cancelled')) },
  };
}

/**
 * Any message transport (stdio child process): requests are written with the transport's own framing, responses
 * with our ids are claimed from its `onmessage` before the Client's handler runs.
 */
export class TransportRawChannel implements RawChannel {
  private readonly pending = new Map<string | number, Settle>();

  constructor(
    private readonly transport: Transport,
    deliver: Deliver,
  ) {
    transport.onmessage = (message) => {
      if (isResponse(message)) {
        const s = this.pending.get(message.id);
        if (s) {
          this.pending.delete(message.id);
          return settle(message, s);
        }
      }
      deliver(message);
    };
  }

  request(message: JSONRPCRequest, signal: AbortSignal): Promise<McpResult> {
    return new Promise<McpResult>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const onabort = () => {
        if (!this.pending.delete(message.id)) return;
        void this.transport.send(cancellation(message.id, signal.reason)).catch(() => {});
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onabort, { once: true });
      const done = () => signal.removeEventListener('abort', onabort);
      this.pending.set(message.id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      this.transport.send(message).catch((error: unknown) => {
        if (!this.pending.delete(message.id)) return;
        done();
        reject(error as Error);
      });
    });
  }

  fail(error: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const s of all) s.reject(error);
  }

  async close(): Promise<void> {
    this.fail(new ProtocolError(-32000, 'Connection closed'));
  }
}

/**
 * Streamable HTTP: one POST per request on a keep-alive undici Pool, with the session id and protocol version the
 * SDK transport negotiated; the answer is a JSON body or an SSE stream (related notifications and requests first).
 */
export class HttpRawChannel implements RawChannel {
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly path: string;
  private closed = false;
  private readonly inFlight = new Set<Settle>();

  private readonly sockets: SocketTracker;

  constructor(
    url: URL,
    private readonly headers: Record<string, string>,
    private readonly transport: StreamableHTTPClientTransport,
    private readonly deliver: Deliver,
    private readonly name: string,
  ) {
    const shared = sharedPool(url.origin);
    this.pool = shared.pool;
    this.sockets = shared.sockets;
    this.origin = url.origin;
    this.path = url.pathname + url.search;
  }

  async request(message: JSONRPCRequest, signal: AbortSignal): Promise<McpResult> {
    const headers: Record<string, string> = {
      ...this.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const session = this.transport.sessionId;
    if (session) headers['mcp-session-id'] = session;
    const version = this.transport.protocolVersion;
    if (version) headers['mcp-protocol-version'] = version;
    let settleRef: Settle | undefined;
    const outcome = new Promise<McpResult>((resolve, reject) => (settleRef = { resolve, reject }));
    const s = settleRef!;
    this.inFlight.add(s);
    const onabort = () => {
      void this.transport.send(cancellation(message.id, signal.reason)).catch(() => {});
      s.reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onabort, { once: true });
    void this.exchange(message, headers, signal, s).catch((error: unknown) => s.reject(error as Error));
    try {
      return await outcome;
    } finally {
      signal.removeEventListener('abort', onabort);
      this.inFlight.delete(s);
    }
  }

  private async exchange(
    message: JSONRPCRequest,
    headers: Record<string, string>,
    signal: AbortSignal,
    s: Settle,
  ): Promise<void> {
    const body = JSON.stringify(message);
    const send = () => this.pool.request({ path: this.path, method: 'POST', headers, body, signal });
    let response: Awaited<ReturnType<typeof send>>;
    try {
      response = await send();
    } catch (error) {
      // Sent again once, and only when the upstream provably never saw it (see `neverAnswered`).
      if (signal.aborted || !this.sockets.neverAnswered(error)) throw error;
      response = await send();
    }
    const type = String(response.headers['content-type'] ?? '');
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = await response.body.text();
      throw new Error(`upstream '${this.name}' answered HTTP ${response.statusCode}: ${text.slice(0, 500)}`);
    }
    let answered = false;
    const take = (m: JSONRPCMessage) => {
      if (isResponse(m) && m.id === message.id) {
        answered = true;
        settle(m, s);
      } else this.deliver(m);
    };
    if (type.includes('application/json')) {
      const body = (await response.body.json()) as JSONRPCMessage | JSONRPCMessage[];
      for (const m of Array.isArray(body) ? body : [body]) take(m);
    } else if (type.includes('text/event-stream')) {
      let buffer = '';
      response.body.setEncoding('utf8');
      for await (const chunk of response.body as AsyncIterable<string>) {
        buffer += chunk;
        let end: number;
        while ((end = eventEnd(buffer)) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^(\r?\n)+/, '');
          const data = sseData(event);
          if (data) take(JSON.parse(data) as JSONRPCMessage);
        }
      }
    } else {
      await response.body.dump();
    }
    // A stream that ended without our response (upstream restarted, proxy cut it) must not hang the caller.
    if (!answered)
      s.reject(new ProtocolError(-32000, `Connection closed: '${this.name}' ended the response without an answer`));
  }

  fail(error: Error): void {
    for (const s of this.inFlight) s.reject(error);
  }

  async close(): Promise<void> {
    this.fail(new ProtocolError(-32000, 'Connection closed'));
    if (this.closed) return;
    this.closed = true;
    await releasePool(this.origin);
  }
}

/**
 * What the pool's sockets have read when a request was written on them, so a failed request can be told apart:
 * an upstream that closes an idle keep-alive connection (5 s in Node servers) just as a request goes out on it
 * never read that request; undici fails it with `UND_ERR_SOCKET` "other side closed" (FIN) or `ECONNRESET` (RST),
 * and POST is never retried by undici itself.
 */
export class SocketTracker {
  /** Open sockets by local port (undici's SocketError carries the socket's local port and byte counts). */
  private readonly byPort = new Map<number, SocketUse>();
  /** Node's own socket errors (ECONNRESET, EPIPE) carry no socket details: mapped here when they are emitted. */
  private readonly byError = new WeakMap<object, SocketUse>();

  /** Wraps undici's connector: every socket it opens is tracked until it closes. */
  connector(): buildConnector.connector {
    const connect = buildConnector({});
    return (options, callback) =>
      connect(options, (error, socket) => {
        if (socket) this.track(socket as Socket);
        // undici's connector callback is overloaded on (error, null) | (null, socket).
        (callback as (e: Error | null, s: unknown) => void)(error, socket);
      });
  }

  private track(socket: Socket): void {
    watchRequestWrites();
    const state: SocketUse = { socket, readAtWrite: -1 };
    tracked.set(socket, state);
    const port = socket.localPort;
    if (port !== undefined) this.byPort.set(port, state);
    // Listeners registered here run before undici's own (registered after the connect callback).
    socket.on('error', (error) => this.byError.set(error, state));
    socket.once('close', () => {
      // The failed request is rejected during this 'close' event; the lookup happens in a continuation after it.
      if (port !== undefined) setImmediate(() => this.byPort.get(port) === state && this.byPort.delete(port));
    });
  }

  /**
   * True only when the request provably did not reach the upstream application: the connection had already carried
   * an answered request (reused keep-alive socket), and it closed (FIN or RST) without a single byte read after the
   * request was written. A fresh connection, a partial answer, a timeout or any other error gives false: the
   * request may have been processed and must not run twice.
   */
  neverAnswered(error: unknown): boolean {
    const e = error as { code?: unknown; socket?: { localPort?: number; bytesRead?: number } } | null;
    if (typeof e !== 'object' || e === null) return false;
    if (e.code !== 'UND_ERR_SOCKET' && e.code !== 'ECONNRESET' && e.code !== 'EPIPE') return false;
    const state =
      this.byError.get(e) ?? (e.socket?.localPort !== undefined ? this.byPort.get(e.socket.localPort) : undefined);
    if (!state || state.readAtWrite <= 0) return false;
    const readAtClose = e.socket?.bytesRead ?? state.socket.bytesRead;
    return readAtClose === state.readAtWrite;
  }
}

interface SocketUse {
  socket: Socket;
  /** The socket's bytesRead when undici last wrote a request's headers on it (-1: nothing written yet). */
  readAtWrite: number;
}

/** Sockets our pools opened (undici's diagnostics channel reports every client's request writes). */
const tracked = new WeakMap<Socket, SocketUse>();
let watching = false;

/**
 * undici publishes `undici:client:sendHeaders` (with the socket) just before it writes a request: the bytes read
 * on that socket so far belong to earlier answers. A channel rather than a wrapped `socket.write`: replacing a
 * method on the socket changes its shape and slowed every request measurably.
 */
function watchRequestWrites(): void {
  if (watching) return;
  watching = true;
  subscribe('undici:client:sendHeaders', (message) => {
    const socket = (message as { socket?: Socket }).socket;
    const state = socket && tracked.get(socket);
    if (state) state.readAtWrite = socket.bytesRead;
  });
}

/**
 * One keep-alive pool per upstream origin, shared by every session's channel (sessions differ by header only), so
 * connections stay warm across sessions; closed with its last channel.
 */
const pools = new Map<string, { pool: Pool; sockets: SocketTracker; users: number }>();

function sharedPool(origin: string): { pool: Pool; sockets: SocketTracker } {
  let entry = pools.get(origin);
  if (!entry) {
    const sockets = new SocketTracker();
    const pool = new Pool(origin, { connections: 256, keepAliveTimeout: 60_000, connect: sockets.connector() });
    entry = { pool, sockets, users: 0 };
    pools.set(origin, entry);
  }
  entry.users++;
  return entry;
}

async function releasePool(origin: string): Promise<void> {
  const entry = pools.get(origin);
  if (!entry || --entry.users > 0) return;
  pools.delete(origin);
  await entry.pool.close().catch(() => {});
}

/** Index just past the blank line that ends the first SSE event, or -1. */
function eventEnd(buffer: string): number {
  const a = buffer.indexOf('\n\n');
  const b = buffer.indexOf('\r\n\r\n');
  if (a < 0) return b < 0 ? -1 : b + 4;
  if (b < 0 || a < b) return a + 2;
  return b + 4;
}

/** The event's `data:` lines joined (events without data, e.g. priming events or comments, give ''). */
function sseData(event: string): string {
  let data = '';
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(line[5] === ' ' ? 6 : 5);
  }
  return data;
}
