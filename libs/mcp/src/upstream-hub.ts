// One upstream connection (SDK Client) and the downstream sessions attached to it: one session by default,
// every session of a tenant with `share: true`. The hub routes what the upstream originates (server->client
// requests, notifications) to the right session; responses never need routing because each forwarded request is
// a promise of the session handler that issued it.
import { mkdirSync } from 'node:fs';
import {
  Client,
  ProtocolError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type Implementation,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Notification,
  type ServerCapabilities,
  type StandardSchemaV1,
  type Transport,
} from '@modelcontextprotocol/client';
import { HttpRawChannel, TransportRawChannel, type RawChannel } from './raw-upstream.js';
import { StdioProcessTransport } from './stdio-process.transport.js';
import type { McpResult } from './interceptor.js';
import type { McpLogger, UpstreamServerConfig } from './types.js';

/** JSON-RPC code for a forwarded request the upstream left unanswered (the v1 SDK's RequestTimeout). */
export const REQUEST_TIMEOUT = -32001;

/** Accepts any result object unchanged, so unknown fields and `_meta` survive forwarding. */
export const passthroughResult: StandardSchemaV1<McpResult, McpResult> = {
  '~standard': {
    version: 1,
    vendor: 'atom-gov',
    validate: (value) =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? { value: value as McpResult }
        : { issues: [{ message: 'result must be an object' }] },
  },
};

/** The side of a downstream session the hub talks to. */
export interface HubSession {
  readonly id: string;
  /** Resource URIs this session subscribed to (routes notifications/resources/updated). */
  readonly subscriptions: Set<string>;
  requestFromUpstream(
    request: JSONRPCRequest,
    signal: AbortSignal,
    relatedRequestId?: string | number,
  ): Promise<McpResult>;
  notifyFromUpstream(notification: Notification, relatedRequestId?: string | number): void;
  upstreamClosed(): void;
}

export interface OpenHubOptions {
  server: UpstreamServerConfig;
  /** Resolved url for HTTP upstreams (launched servers have a runtime port). */
  url?: string;
  clientInfo: Implementation;
  capabilities: ClientCapabilities;
  logger: McpLogger;
  connectTimeoutMs?: number;
}

interface InFlight {
  session: HubSession;
  requestId: string | number;
  /** Aborts the forward (caller cancellation, inactivity timeout, `abortForwards`). */
  stop: AbortController;
  /** Set by `abortForwards`: the error the caller gets instead of the upstream's answer. */
  ended?: Error;
}

export class UpstreamHub {
  readonly sessions = new Set<HubSession>();
  /** Forwarded requests not yet answered, oldest first. */
  private readonly inFlight: InFlight[] = [];
  private readonly progressRoutes = new Map<string, (progress: Record<string, unknown>) => void>();
  private progressSeq = 0;
  /** Upstream ids of forwarded requests: far above the SDK Client's own counter, so they never collide. */
  private requestSeq = 2 ** 31;
  /** The fast path (raw JSON-RPC on the Client's connection); undefined: forward through the SDK Client. */
  private raw?: RawChannel;
  private closed = false;
  /** Pooled hubs (2026-07-28 stateless requests) outlive their per-request sessions; the idle reaper closes them. */
  keepOpen = false;
  /** Open 2026-07-28 `subscriptions/listen` streams fed by this hub (the reaper leaves the hub open meanwhile). */
  listeners = 0;
  /** Receives list_changed and resources/updated from the upstream (bridged to `subscriptions/listen` streams). */
  onChange?: (notification: Notification) => void;
  /** The same for the aggregate endpoint's 2026-07-28 listen streams (the hub may feed both). */
  onAggregateChange?: (notification: Notification) => void;
  /** Upstream resource subscriptions held for listen streams, with their holders' count. */
  private readonly heldSubscriptions = new Map<string, number>();
  lastUsed = Date.now();
  onclose?: () => void;

  private constructor(
    readonly client: Client,
    private readonly transport: Transport,
    readonly name: string,
    private readonly logger: McpLogger,
  ) {}

  static async open(opts: OpenHubOptions): Promise<UpstreamHub> {
    const { server, logger } = opts;
    for (const dir of server.createDirs ?? []) mkdirSync(dir, { recursive: true });
    const transport = createTransport(server, opts.url, logger);
    const client = new Client(opts.clientInfo, { capabilities: opts.capabilities });
    const hub = new UpstreamHub(client, transport, server.name, logger);
    client.fallbackRequestHandler = (request, ctx) => hub.routeRequest(request, ctx.mcpReq.signal);
    client.fallbackNotificationHandler = async (notification) => hub.routeNotification(notification);
    client.setNotificationHandler('notifications/progress', (n) =>
      hub.routeProgress(n.params as Record<string, unknown>),
    );
    client.onclose = () => hub.onUpstreamClosed();
    client.onerror = (error) => logger.warn(`upstream '${server.name}': ${error.message}`, { server: server.name });
    try {
      await client.connect(transport, { timeout: opts.connectTimeoutMs ?? 30_000 });
    } catch (error) {
      await transport.close().catch(() => {});
      throw new Error(`cannot connect to upstream '${server.name}': ${(error as Error).message}`, { cause: error });
    }
    hub.raw = hub.rawChannel(server, opts.url);
    return hub;
  }

  /**
   * The fast path is used for 2025-era upstreams on stdio or Streamable HTTP (a 2026-07-28 upstream needs the
   * per-request envelope the Client adds; legacy SSE is rare enough to keep on the Client).
   */
  private rawChannel(server: UpstreamServerConfig, url: string | undefined): RawChannel | undefined {
    const version = this.client.getNegotiatedProtocolVersion?.() ?? '';
    if (!version.startsWith('2024') && !version.startsWith('2025')) return undefined;
    const sdk = this.transport.onmessage;
    if (!sdk) return undefined;
    const deliver = (message: JSONRPCMessage) => {
      // Progress is routed here, synchronously, so each step is delivered before the response that follows it.
      if ('method' in message && message.method === 'notifications/progress' && !('id' in message)) {
        const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken;
        if (typeof token === 'string' && this.progressRoutes.has(token))
          return this.routeProgress(message.params as Record<string, unknown>);
      }
      sdk.call(this.transport, message);
    };
    if (this.transport instanceof StdioProcessTransport) return new TransportRawChannel(this.transport, deliver);
    if (this.transport instanceof StreamableHTTPClientTransport) {
      const target = url ?? server.url;
      if (target) return new HttpRawChannel(new URL(target), server.headers, this.transport, deliver, server.name);
    }
    return undefined;
  }

  get serverInfo(): Implementation {
    return this.client.getServerVersion() ?? { name: this.name, version: '0.0.0' };
  }
  get capabilities(): ServerCapabilities {
    return this.client.getServerCapabilities() ?? {};
  }
  get instructions(): string | undefined {
    return this.client.getInstructions();
  }
  get pid(): number | undefined {
    return this.transport instanceof StdioProcessTransport ? this.transport.pid : undefined;
  }
  get isClosed(): boolean {
    return this.closed;
  }

  attach(session: HubSession): void {
    this.sessions.add(session);
  }

  /** Detaches a session; the upstream closes with its last session (and its last listen stream). */
  async detach(session: HubSession): Promise<void> {
    this.sessions.delete(session);
    for (let i = this.inFlight.length - 1; i >= 0; i--)
      if (this.inFlight[i]!.session === session) this.inFlight.splice(i, 1);
    this.lastUsed = Date.now();
    if (this.sessions.size === 0 && this.listeners === 0 && !this.keepOpen) await this.close();
  }

  /** Closes the hub when nothing uses it any more and nothing keeps it open (a retired pooled hub). */
  async closeIfUnused(): Promise<void> {
    if (this.sessions.size === 0 && this.listeners === 0 && !this.keepOpen) await this.close();
  }

  /**
   * Ends the forwards in flight (of one session, or all) with `error` as their answer: the upstream is told they
   * were cancelled. Used when a server is removed at a hot reload.
   */
  abortForwards(error: Error, session?: HubSession): void {
    for (const entry of [...this.inFlight]) {
      if (session && entry.session !== session) continue;
      entry.ended = error;
      entry.stop.abort(error);
    }
  }

  /**
   * Sends a request upstream on behalf of a session; progress and cancellation travel with it. Progress uses a
   * gateway-issued token routed by our own notification handler rather than the SDK's per-request callback: the
   * SDK dispatches notifications a microtask after responses, so the callback would miss the last step.
   */
  async forward(
    session: HubSession,
    downstreamId: string | number,
    request: { method: string; params?: Record<string, unknown> },
    options: { signal: AbortSignal; onprogress?: (progress: Record<string, unknown>) => void; timeoutMs: number },
  ): Promise<McpResult> {
    // Inactivity timeout: any progress from the upstream restarts it, so long operations that report go on.
    // One controller for caller cancellation and the inactivity timeout (AbortSignal.any is costly per call).
    const stop = new AbortController();
    const entry: InFlight = { session, requestId: downstreamId, stop };
    this.inFlight.push(entry);
    let timedOut = false;
    const arm = () =>
      setTimeout(() => {
        timedOut = true;
        stop.abort(new Error(`no answer or progress from '${this.name}' for ${options.timeoutMs} ms`));
      }, options.timeoutMs);
    const oncancel = () => stop.abort(options.signal.reason);
    if (options.signal.aborted) oncancel();
    else options.signal.addEventListener('abort', oncancel, { once: true });
    let timer = arm();
    let token: string | undefined;
    let upstreamRequest = request;
    if (options.onprogress) {
      const onprogress = options.onprogress;
      token = `atom-gov-${++this.progressSeq}`;
      this.progressRoutes.set(token, (progress) => {
        clearTimeout(timer);
        timer = arm();
        onprogress(progress);
      });
      const meta = { ...(request.params?._meta as Record<string, unknown> | undefined), progressToken: token };
      upstreamRequest = { method: request.method, params: { ...request.params, _meta: meta } };
    }
    try {
      const signal = stop.signal;
      if (this.raw) {
        const message = { jsonrpc: '2.0' as const, id: ++this.requestSeq, ...upstreamRequest };
        return await this.raw.request(message as JSONRPCRequest, signal);
      }
      return await this.client.request(upstreamRequest as never, passthroughResult, {
        signal,
        timeout: 0x7fffffff, // our inactivity timer above is the limit
      });
    } catch (error) {
      if (entry.ended) throw entry.ended;
      if (timedOut && !options.signal.aborted) {
        throw new ProtocolError(
          REQUEST_TIMEOUT,
          `Request timed out: no answer or progress from '${this.name}' for ${options.timeoutMs} ms`,
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', oncancel);
      const i = this.inFlight.indexOf(entry);
      if (i >= 0) this.inFlight.splice(i, 1);
      // Progress queued before the response is dispatched before this continuation runs (FIFO microtasks).
      if (token !== undefined) this.progressRoutes.delete(token);
    }
  }

  private routeProgress(params: Record<string, unknown>): void {
    const { progressToken, ...progress } = params;
    const route = this.progressRoutes.get(progressToken as string);
    if (route) route(progress);
    else this.logger.warn(`upstream '${this.name}': progress for an unknown token ${JSON.stringify(progressToken)}`);
  }

  async notify(notification: Notification): Promise<void> {
    await this.client.notification(notification);
  }

  /**
   * A server->client request (sampling, elicitation, roots) goes to the session whose request is in flight
   * (the newest: nested tool calls answer the innermost first); with none, to the only session.
   */
  private routeRequest(request: JSONRPCRequest, signal: AbortSignal): Promise<McpResult> {
    const current = this.inFlight.at(-1);
    if (current) return current.session.requestFromUpstream(request, signal, current.requestId);
    if (this.sessions.size === 1) return [...this.sessions][0]!.requestFromUpstream(request, signal);
    return Promise.reject(new Error(`no session to route '${request.method}' to`));
  }

  /** Subscribes upstream to a resource for a listen stream (once per URI, counted). */
  async holdSubscription(uri: string): Promise<void> {
    const n = this.heldSubscriptions.get(uri) ?? 0;
    this.heldSubscriptions.set(uri, n + 1);
    if (n === 0) {
      try {
        await this.client.request({ method: 'resources/subscribe', params: { uri } } as never, passthroughResult);
      } catch (error) {
        this.heldSubscriptions.delete(uri);
        throw error;
      }
    }
  }

  releaseSubscription(uri: string): void {
    const n = this.heldSubscriptions.get(uri) ?? 0;
    if (n > 1) return void this.heldSubscriptions.set(uri, n - 1);
    this.heldSubscriptions.delete(uri);
    if (n === 1 && !this.closed)
      this.client
        .request({ method: 'resources/unsubscribe', params: { uri } } as never, passthroughResult)
        .catch(() => {});
  }

  private routeNotification(notification: Notification): void {
    const method = notification.method;
    if (method.endsWith('/list_changed') || method === 'notifications/resources/updated') {
      this.onChange?.(notification);
      this.onAggregateChange?.(notification);
    }
    if (method === 'notifications/resources/updated') {
      const uri = (notification.params as { uri?: string } | undefined)?.uri;
      for (const s of this.sessions)
        if (this.sessions.size === 1 || (uri !== undefined && s.subscriptions.has(uri)))
          s.notifyFromUpstream(notification);
      return;
    }
    if (method === 'notifications/message') {
      const current = this.inFlight.at(-1);
      if (current && this.sessions.size > 1) return current.session.notifyFromUpstream(notification, current.requestId);
    }
    for (const s of this.sessions) s.notifyFromUpstream(notification);
  }

  private onUpstreamClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.logger.warn(`upstream '${this.name}' connection closed`, { server: this.name });
    this.inFlight.length = 0;
    this.raw?.fail(new ProtocolError(-32000, 'Connection closed'));
    for (const s of [...this.sessions]) s.upstreamClosed();
    this.onclose?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
    await this.raw?.close();
    await this.client.close().catch(() => {});
    await this.transport.close().catch(() => {});
  }
}

function createTransport(server: UpstreamServerConfig, url: string | undefined, logger: McpLogger): Transport {
  if (server.transport === 'stdio') {
    if (!server.command) throw new Error(`server '${server.name}': stdio transport needs a command`);
    return new StdioProcessTransport({
      command: server.command,
      args: server.args,
      env: server.env,
      cwd: server.cwd,
      name: server.name,
      logger,
    });
  }
  const target = url ?? server.url;
  if (!target) throw new Error(`server '${server.name}': ${server.transport} transport needs a url`);
  const requestInit = { headers: server.headers };
  return server.transport === 'sse'
    ? new SSEClientTransport(new URL(target), { requestInit })
    : new StreamableHTTPClientTransport(new URL(target), { requestInit });
}
