// One assistant session: an SDK Server whose answers are the upstream's. Every request without a built-in
// handler goes through `handle()`: interceptor decision, forward, list filtering, afterResult, operation record.
import type { ServerResponse } from 'node:http';
import {
  ProtocolError,
  Server,
  type JSONRPCRequest,
  type Notification,
  type Transport,
} from '@modelcontextprotocol/server';
import {
  allowAllInterceptor,
  type Decision,
  type InterceptContext,
  type Interceptor,
  type ListKind,
  type McpResult,
  type OperationRecord,
  type OperationSink,
} from './interceptor.js';
import { INPUT_METHODS, type InputBridge } from './input-bridge.js';
import { passthroughResult, type HubSession, type UpstreamHub } from './upstream-hub.js';
import type { CallerIdentity, McpLogger } from './types.js';

interface FastExchange {
  controller: AbortController;
  /** Writes a message related to the request on its response (upgrading it to an SSE stream). */
  write(message: unknown): void;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };

/** Methods the SDK Server has no own handler for (they all reach `handle()`), so both paths answer alike. */
const FAST_METHODS = new Set([
  'tools/call',
  'tools/list',
  'resources/read',
  'resources/list',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/get',
  'prompts/list',
  'completion/complete',
  'logging/setLevel',
  'ping',
]);

/** A well-formed JSON-RPC request for one of FAST_METHODS; anything unusual is left to the SDK's checks. */
function isFastRequest(
  body: unknown,
): body is { jsonrpc: '2.0'; id: string | number; method: string; params?: Record<string, unknown> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const m = body as Record<string, unknown>;
  if (m.jsonrpc !== '2.0' || typeof m.method !== 'string' || !FAST_METHODS.has(m.method)) return false;
  if (typeof m.id !== 'string' && !(typeof m.id === 'number' && Number.isSafeInteger(m.id))) return false;
  if ('result' in m || 'error' in m) return false;
  const p = m.params;
  return p === undefined || (typeof p === 'object' && p !== null && !Array.isArray(p));
}

/** The retry of a 2026-07-28 request that got `input_required` (both lifted off the params by the SDK). */
export interface InputRetry {
  requestState?: string;
  inputResponses?: Record<string, unknown>;
}

function isInputRequired(result: McpResult): boolean {
  return result.resultType === 'input_required';
}

/** JSON-RPC error code for requests a policy denied (application-defined range). */
export const POLICY_DENIED = -32003;

/** How long `end()` lets requests in flight finish (with the given error) before closing the session. */
const END_GRACE_MS = 5_000;

export interface SessionOptions {
  id: string;
  identity: CallerIdentity;
  server: string;
  transport: 'http' | 'stdio';
  remoteAddress?: string;
  interceptor?: Interceptor;
  onOperation?: OperationSink;
  logger: McpLogger;
  /** Upper bound for one forwarded request (reset by progress). */
  requestTimeoutMs?: number;
  onclose?: () => void;
  /** Close the session when `notifications/initialized` has not arrived within this time. Default 30 s. */
  handshakeTimeoutMs?: number;
  /** Instructions shown to the caller when the interceptor replaced the upstream's (key present: use it). */
  instructions?: string;
  /** Per-request (2026-07-28) sessions have no handshake. */
  stateless?: boolean;
  /** 2026-07-28 sessions: upstream requests during a call become input_required rounds. */
  inputBridge?: InputBridge;
  /**
   * A member of an aggregate session (`/mcp`): what the upstream originates (server->client requests,
   * notifications) goes to the aggregate session's own SDK Server instead of this session's (never connected).
   */
  relay?: SessionRelay;
}

/** Where a member session of the aggregate endpoint sends what its upstream originates. */
export interface SessionRelay {
  request(request: JSONRPCRequest, signal: AbortSignal, relatedRequestId?: string | number): Promise<McpResult>;
  notify(notification: Notification, relatedRequestId?: string | number): void;
}

const LISTS: Record<string, { kind: ListKind; key: string }> = {
  'tools/list': { kind: 'tools', key: 'tools' },
  'prompts/list': { kind: 'prompts', key: 'prompts' },
  'resources/list': { kind: 'resources', key: 'resources' },
  'resources/templates/list': { kind: 'resourceTemplates', key: 'resourceTemplates' },
};

export class DownstreamSession implements HubSession {
  readonly server: Server;
  readonly subscriptions = new Set<string>();
  private readonly interceptor: Interceptor;
  private closed = false;
  lastActivity = Date.now();
  private active = 0;
  /** Requests not yet answered (counted until their audit record is written). */
  private open = 0;
  private drained?: () => void;
  /** Requests the fast path is serving, by the caller's id. */
  private readonly fast = new Map<string | number, FastExchange>();

  constructor(
    readonly hub: UpstreamHub,
    private readonly opts: SessionOptions,
  ) {
    this.interceptor = opts.interceptor ?? allowAllInterceptor;
    this.server = new Server(hub.serverInfo, {
      capabilities: hub.capabilities,
      instructions: 'instructions' in opts ? opts.instructions : hub.instructions,
    });
    // The upstream answers these too: its ping proves liveness, its setLevel sets its logging.
    this.server.removeRequestHandler('ping');
    this.server.removeRequestHandler('logging/setLevel');
    this.server.fallbackRequestHandler = async (request, ctx) =>
      (
        await this.handle(
          request,
          ctx.mcpReq.signal,
          ctx.mcpReq.notify,
          opts.inputBridge
            ? { requestState: ctx.mcpReq.requestState<string>(), inputResponses: ctx.mcpReq.inputResponses }
            : undefined,
        )
      ).result;
    this.server.fallbackNotificationHandler = async (notification) => {
      await hub.notify(notification);
    };
    this.server.onclose = () => void this.close();
    // A session whose handshake never completes (rejected initialize, vanished client) must not keep an upstream.
    const handshake = setTimeout(() => void this.close(), opts.handshakeTimeoutMs ?? 30_000);
    handshake.unref();
    this.server.oninitialized = () => clearTimeout(handshake);
    if (opts.stateless) clearTimeout(handshake);
    this.server.onerror = (error) => opts.logger.warn(`session ${opts.id}: ${error.message}`, { server: opts.server });
    hub.attach(this);
  }

  get id(): string {
    return this.opts.id;
  }
  get identity(): CallerIdentity {
    return this.opts.identity;
  }
  get busy(): boolean {
    return this.active > 0;
  }

  async connect(transport: Transport): Promise<void> {
    await this.server.connect(transport);
    // What the SDK Server sends in relation to a request served by the fast path (a sampling request, a log line
    // for it) goes on that request's own response stream, as it would for a request the SDK transport served.
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      const related = options?.relatedRequestId;
      const exchange = related === undefined ? undefined : this.fast.get(related);
      if (!exchange) return send(message, options);
      exchange.write(message);
      return Promise.resolve();
    };
  }

  /**
   * The fast path for a plain request of an established session: no SDK Server or transport objects, the same
   * decision, forwarding, audit and answer as `handle()` gives the SDK path. Returns false (nothing written) for
   * anything else, which then takes the SDK path.
   */
  serveFast(body: unknown, res: ServerResponse): boolean {
    if (!isFastRequest(body) || this.fast.has(body.id) || this.closed) return false;
    const controller = new AbortController();
    let sse = false;
    const headers = { 'mcp-session-id': this.opts.id };
    const exchange: FastExchange = {
      controller,
      write: (message) => {
        if (res.writableEnded) return;
        if (!sse) {
          sse = true;
          res.writeHead(200, { ...headers, ...SSE_HEADERS });
        }
        res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
      },
    };
    this.fast.set(body.id, exchange);
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new Error('the client disconnected'));
    });
    const notify = (n: Notification) => {
      exchange.write({ jsonrpc: '2.0', ...n });
      return Promise.resolve();
    };
    const answer = (message: Record<string, unknown>) => answerText(JSON.stringify(message));
    const answerText = (text: string) => {
      if (res.writableEnded) return;
      if (sse) res.end(`event: message\ndata: ${text}\n\n`);
      else res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(text);
    };
    this.handle(body as JSONRPCRequest, controller.signal, notify)
      .then(
        ({ text }) => answerText(`{"jsonrpc":"2.0","id":${JSON.stringify(body.id)},"result":${text}}`),
        (error: unknown) => {
          // A cancelled request gets no response (as the SDK Server does); the stream just ends.
          if (controller.signal.aborted) {
            if (!res.headersSent) res.writeHead(200, { ...headers, ...SSE_HEADERS });
            return void res.end();
          }
          const e = error as { code?: unknown; message?: string; data?: unknown };
          const code = Number.isSafeInteger(e.code) ? (e.code as number) : -32603;
          answer({
            jsonrpc: '2.0',
            id: body.id,
            error: { code, message: e.message ?? 'Internal error', ...(e.data !== undefined ? { data: e.data } : {}) },
          });
        },
      )
      .finally(() => this.fast.delete(body.id));
    return true;
  }

  /** A `notifications/cancelled` for a request the fast path is serving; false when it is not one of ours. */
  cancelFast(body: unknown): boolean {
    const m = body as { method?: unknown; params?: { requestId?: unknown; reason?: unknown } } | null;
    if (m?.method !== 'notifications/cancelled' || 'id' in (m as object)) return false;
    const id = m.params?.requestId;
    const exchange = typeof id === 'string' || typeof id === 'number' ? this.fast.get(id) : undefined;
    if (!exchange) return false;
    exchange.controller.abort(new Error(String(m.params?.reason ?? 'cancelled by the client')));
    return true;
  }

  private context(method: string, params: Record<string, unknown> | undefined): InterceptContext {
    const { identity, id, server, transport, remoteAddress } = this.opts;
    const name = (params?.name ?? params?.uri) as string | undefined;
    const args = (params?.arguments as Record<string, unknown> | undefined) ?? params;
    return {
      tenant: identity.tenant,
      user: identity.user,
      roles: identity.roles,
      sessionId: id,
      server,
      method,
      name,
      args,
      transport,
      remoteAddress,
    };
  }

  /**
   * The aggregate endpoint's way in: the same decision, forwarding, list filtering and operation record as a
   * request of this session's own endpoint; `exposedAs` (the name the caller used) goes into the record.
   */
  dispatch(
    request: JSONRPCRequest,
    signal: AbortSignal,
    notify: (n: Notification) => Promise<void>,
    exposedAs?: string,
    retry?: InputRetry,
  ): Promise<McpResult> {
    return this.handle(request, signal, notify, this.opts.inputBridge ? retry : undefined, exposedAs).then(
      (r) => r.result,
    );
  }

  private async handle(
    request: JSONRPCRequest,
    signal: AbortSignal,
    notify: (n: Notification) => Promise<void>,
    retry?: InputRetry,
    exposedAs?: string,
  ): Promise<{ result: McpResult; text: string }> {
    this.lastActivity = Date.now();
    this.active++;
    this.open++;
    const started = performance.now();
    const method = request.method;
    const params = request.params as Record<string, unknown> | undefined;
    const ctx = this.context(method, params);
    const progressToken = (params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    const progress = progressRelay(progressToken, notify);
    ctx.progress = progress.gateway;
    let decision: Decision | undefined;
    let result: McpResult | undefined;
    let failure: unknown;
    // 2026-07-28 caller, upstream requests answered through input_required rounds (see input-bridge.ts).
    const bridge = this.opts.inputBridge && INPUT_METHODS.has(method) ? this.opts.inputBridge : undefined;
    const owner = { tenant: ctx.tenant, user: ctx.user, server: ctx.server, method, name: ctx.name };
    const onprogress = progressToken === undefined ? undefined : progress.upstream;
    try {
      if (bridge && retry?.requestState !== undefined) {
        // A retry resumes the call the first round decided: no second decision (limits, approvals) for it.
        const parked = bridge.resume(retry.requestState, owner);
        decision = parked.decision;
        parked.answer(retry.inputResponses);
        result = await parked.round(signal, { onprogress, notify });
        if (!isInputRequired(result)) {
          const a = this.interceptor.afterResult(ctx, { method, params }, result);
          result = a instanceof Promise ? await a : a;
        }
      } else {
        const d = this.interceptor.beforeRequest(ctx, { method, params });
        decision = d instanceof Promise ? await d : d;
        if (decision.kind === 'deny') {
          if (method === 'tools/call') result = { content: [{ type: 'text', text: decision.message }], isError: true };
          else throw new ProtocolError(decision.code ?? POLICY_DENIED, decision.message);
        } else {
          const timeoutMs = this.opts.requestTimeoutMs ?? 600_000;
          const admitted = decision;
          const forward = bridge
            ? (p?: Record<string, unknown>) => {
                const parked = bridge.park(owner, admitted, this.hub);
                parked.start(request.id, { method, params: p }, timeoutMs, onprogress !== undefined);
                return parked.round(signal, { onprogress, notify });
              }
            : (p?: Record<string, unknown>) =>
                this.hub.forward(this, request.id, { method, params: p }, { signal, onprogress, timeoutMs });
          if (decision.kind === 'governed') result = await decision.run(forward, signal);
          else result = await forward(decision.kind === 'transform' ? decision.params : params);
          const list = LISTS[method];
          if (list && Array.isArray(result[list.key])) {
            const items = result[list.key] as Array<{ name?: string }>;
            const f = this.interceptor.filterList(ctx, list.kind, items);
            const filtered = f instanceof Promise ? await f : f;
            if (filtered !== items) result = { ...result, [list.key]: filtered };
          }
          if (!isInputRequired(result)) {
            const a = this.interceptor.afterResult(ctx, { method, params }, result);
            result = a instanceof Promise ? await a : a;
          }
          if (method === 'resources/subscribe' && typeof params?.uri === 'string') this.subscriptions.add(params.uri);
          if (method === 'resources/unsubscribe' && typeof params?.uri === 'string')
            this.subscriptions.delete(params.uri);
        }
      }
    } catch (error) {
      failure = error;
    } finally {
      this.active--;
      this.lastActivity = Date.now();
    }
    try {
      // Serialised once: its length goes into the record, the fast path sends the text itself.
      const resultText = result === undefined ? undefined : JSON.stringify(result);
      if (this.opts.onOperation) {
        const record = this.record(ctx, decision, resultText, failure, signal, performance.now() - started, params);
        if (this.opts.relay) {
          record.endpoint = 'aggregate';
          if (exposedAs !== undefined) record.exposedAs = exposedAs;
        }
        // Durable before the response leaves; a failed audit write fails the request (fail closed).
        try {
          await this.opts.onOperation(record);
        } catch (error) {
          this.opts.logger.error(`audit write failed: ${(error as Error).message}`, { server: this.opts.server });
          throw new ProtocolError(-32603, 'Audit trail unavailable: the request was not answered');
        }
      }
      if (failure !== undefined) throw failure;
      return { result: result!, text: resultText! };
    } finally {
      if (--this.open === 0) this.drained?.();
    }
  }

  private record(
    ctx: InterceptContext,
    decision: Decision | undefined,
    resultText: string | undefined,
    failure: unknown,
    signal: AbortSignal,
    durationMs: number,
    params: Record<string, unknown> | undefined,
  ): OperationRecord {
    const denied = decision?.kind === 'deny';
    const outcome: OperationRecord['outcome'] = ctx.annotations?.outcome
      ? ctx.annotations.outcome
      : signal.aborted
        ? 'cancelled'
        : denied
          ? 'denied'
          : failure !== undefined
            ? /timed? ?out/i.test(String((failure as Error).message))
              ? 'timeout'
              : 'error'
            : 'ok';
    return {
      time: new Date(),
      tenant: ctx.tenant,
      user: ctx.user,
      sessionId: ctx.sessionId,
      server: ctx.server,
      method: ctx.method,
      target: ctx.name,
      decision:
        failure !== undefined && !denied
          ? 'error'
          : decision?.kind === 'transform'
            ? 'allow'
            : (decision?.kind ?? 'error'),
      policy: decision?.policy,
      rules: decision?.rules,
      outcome,
      errorMessage: denied
        ? (decision as { message: string }).message
        : failure !== undefined
          ? (failure as Error).message
          : undefined,
      durationMs,
      requestBytes: params ? JSON.stringify(params).length : 0,
      responseBytes: resultText?.length ?? 0,
      operationId: decision?.kind === 'governed' ? decision.operationId : undefined,
      transport: ctx.transport,
      annotations: ctx.annotations,
    };
  }

  requestFromUpstream(
    request: JSONRPCRequest,
    signal: AbortSignal,
    relatedRequestId?: string | number,
  ): Promise<McpResult> {
    if (this.opts.relay) return this.opts.relay.request(request, signal, relatedRequestId);
    return this.server.request({ method: request.method, params: request.params } as never, passthroughResult, {
      signal,
      relatedRequestId,
      timeout: this.opts.requestTimeoutMs ?? 600_000,
    });
  }

  notifyFromUpstream(notification: Notification, relatedRequestId?: string | number): void {
    if (this.opts.relay) return this.opts.relay.notify(notification, relatedRequestId);
    this.server
      .notification(notification, relatedRequestId === undefined ? undefined : { relatedRequestId })
      .catch((error: unknown) => {
        // The related stream may have ended meanwhile: deliver on the session's standalone stream instead.
        if (relatedRequestId !== undefined) this.notifyFromUpstream(notification);
        else
          this.opts.logger.warn(
            `session ${this.opts.id}: cannot deliver ${notification.method}: ${(error as Error).message}`,
          );
      });
  }

  upstreamClosed(): void {
    // Let the calls in flight answer with their connection-closed errors first, then end the session so the
    // assistant re-initializes (and gets a fresh upstream).
    setTimeout(() => void this.close(), 250).unref();
  }

  /**
   * Ends the session because its server went away (removed at a hot reload): the requests in flight are answered
   * with `error` (the upstream is told they were cancelled), then the session and its upstream are closed.
   */
  async end(error: Error): Promise<void> {
    if (this.closed) return;
    this.hub.abortForwards(error, this);
    // Bounded: a governed call waiting for an approval has nothing upstream to abort yet.
    if (this.open > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, END_GRACE_MS);
      });
      clearTimeout(timer);
    }
    // The answers are written by continuations of the settled handlers; one turn of the loop lets them go out.
    await new Promise((resolve) => setImmediate(resolve));
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.hub.detach(this);
    await this.server.close().catch(() => {});
    this.opts.onclose?.();
  }
}

/**
 * One request's progress stream towards its caller: the gateway's own messages (approval waits) and the upstream's
 * progress share the caller's token, so upstream values are shifted past what the gateway already sent (progress
 * must increase). Without gateway messages the upstream's notifications pass through unchanged.
 */
function progressRelay(
  progressToken: string | number | undefined,
  notify: (n: Notification) => Promise<void>,
): {
  gateway: (message: string, progress?: number, total?: number) => void;
  upstream: (p: Record<string, unknown>) => void;
} {
  let last = 0;
  let offset: number | undefined;
  const send = (params: Record<string, unknown>) =>
    void notify({ method: 'notifications/progress', params: { ...params, progressToken } }).catch(() => {});
  return {
    gateway: (message, progress, total) => {
      if (progressToken === undefined) return;
      last = progress !== undefined && progress > last ? progress : last + 1;
      send(total === undefined ? { progress: last, message } : { progress: last, total, message });
    },
    upstream: (p) => {
      offset ??= last;
      if (offset === 0 || typeof p.progress !== 'number') return send(p);
      last = p.progress + offset;
      send({ ...p, progress: last, ...(typeof p.total === 'number' ? { total: p.total + offset } : {}) });
    },
  };
}
