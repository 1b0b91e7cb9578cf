// input_required bridging (protocol revision 2026-07-28 callers, 2025-era upstreams). A 2026-07-28 caller cannot
// receive server->client requests; when the upstream sends one (sampling, elicitation, roots) while serving the
// caller's tools/call, prompts/get or resources/read, the upstream request is kept in flight ("parked"), the caller
// is answered with an `input_required` result naming the upstream's requests, and its retry (same request plus
// `inputResponses` and our `requestState`) answers them and waits for the upstream's final result or its next
// request. A parked call that is not resumed in time is cancelled upstream.
import { randomUUID } from 'node:crypto';
import { ProtocolError, type JSONRPCRequest, type Notification } from '@modelcontextprotocol/server';
import type { Decision, McpResult } from './interceptor.js';
import type { HubSession, UpstreamHub } from './upstream-hub.js';

/** Methods whose 2026-07-28 results may be `input_required`. */
export const INPUT_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** What a retry must match to resume a parked call (a requestState is useless to anyone else). */
export interface ParkedOwner {
  tenant: string;
  user: string;
  server: string;
  method: string;
  name?: string;
}

interface PendingInput {
  request: JSONRPCRequest;
  resolve: (result: McpResult) => void;
  reject: (error: Error) => void;
}

/** Invalid or expired requestState: the SDK's own code and message for the case. */
function invalidState(): ProtocolError {
  return new ProtocolError(-32602, 'Invalid or expired requestState', { reason: 'invalid_request_state' });
}

/** One upstream call whose caller answers the upstream's requests through input_required rounds. */
export class ParkedCall implements HubSession {
  readonly id = randomUUID();
  readonly subscriptions = new Set<string>();
  private readonly pending = new Map<string, PendingInput>();
  private seq = 0;
  private final?: { result: McpResult } | { error: unknown };
  private wake?: () => void;
  private expiry?: NodeJS.Timeout;
  private readonly controller = new AbortController();
  /** The current round's progress relay (progress of the upstream call reaches whichever round is waiting). */
  private onprogress?: (progress: Record<string, unknown>) => void;
  private notify?: (n: Notification) => Promise<void>;

  constructor(
    private readonly bridge: InputBridge,
    readonly owner: ParkedOwner,
    readonly decision: Decision,
    private readonly hub: UpstreamHub,
  ) {}

  /** Starts the upstream call; its server->client requests come back to this object. */
  start(
    requestId: string | number,
    request: { method: string; params?: Record<string, unknown> },
    timeoutMs: number,
    progress: boolean,
  ): void {
    this.hub.attach(this);
    this.hub
      .forward(this, requestId, request, {
        signal: this.controller.signal,
        timeoutMs,
        onprogress: progress ? (p) => this.onprogress?.(p) : undefined,
      })
      .then(
        (result) => (this.final = { result }),
        (error: unknown) => (this.final = { error }),
      )
      .finally(() => {
        void this.hub.detach(this);
        this.wake?.();
      });
  }

  /**
   * One round for the caller: resolves with the upstream's final result, or with an `input_required` result when
   * the upstream is waiting for input. A caller that goes away while a round waits abandons the call.
   */
  async round(
    signal: AbortSignal,
    relay: { onprogress?: (p: Record<string, unknown>) => void; notify: (n: Notification) => Promise<void> },
  ): Promise<McpResult> {
    clearTimeout(this.expiry);
    this.onprogress = relay.onprogress;
    this.notify = relay.notify;
    const onabort = () => this.cancel(new Error('the caller went away while the call waited'));
    signal.addEventListener('abort', onabort, { once: true });
    try {
      while (!this.final && this.pending.size === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    } finally {
      signal.removeEventListener('abort', onabort);
      this.wake = undefined;
      this.onprogress = undefined;
      this.notify = undefined;
    }
    if (this.final) {
      this.bridge.forget(this);
      if ('error' in this.final) throw this.final.error;
      return this.final.result;
    }
    // Waiting for the caller's input: parked until its retry, within the bridge's time limit.
    this.expiry = setTimeout(
      () => this.cancel(new Error(`no input within ${this.bridge.waitMs} ms`)),
      this.bridge.waitMs,
    );
    this.expiry.unref();
    const inputRequests: Record<string, { method: string; params?: unknown }> = {};
    for (const [key, p] of this.pending) inputRequests[key] = { method: p.request.method, params: p.request.params };
    return { resultType: 'input_required', inputRequests, requestState: this.id } as McpResult;
  }

  /** Answers the upstream's requests the caller responded to (keys it does not know are ignored). */
  answer(inputResponses: Record<string, unknown> | undefined): void {
    for (const [key, response] of Object.entries(inputResponses ?? {})) {
      const p = this.pending.get(key);
      if (!p) continue;
      this.pending.delete(key);
      p.resolve(response as McpResult);
    }
  }

  /** Abandons the call: the upstream's requests are refused and the upstream call is cancelled. */
  cancel(reason: Error): void {
    clearTimeout(this.expiry);
    this.bridge.forget(this);
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    this.controller.abort(reason);
  }

  requestFromUpstream(request: JSONRPCRequest, signal: AbortSignal): Promise<McpResult> {
    const key = `${request.method.split('/')[0]}-${++this.seq}`;
    // A 2025 elicitation without a mode is a form elicitation; the 2026-07-28 vocabulary names it.
    const params = request.params as Record<string, unknown> | undefined;
    const normalised =
      request.method === 'elicitation/create' && params && params.mode === undefined
        ? { ...request, params: { ...params, mode: 'form' } }
        : request;
    return new Promise<McpResult>((resolve, reject) => {
      this.pending.set(key, { request: normalised, resolve, reject });
      signal.addEventListener(
        'abort',
        () => {
          if (this.pending.delete(key)) reject(signal.reason as Error);
        },
        { once: true },
      );
      this.wake?.();
    });
  }

  notifyFromUpstream(notification: Notification): void {
    // Log lines of the upstream reach the round that is waiting, if any (list changes go to listen streams).
    if (notification.method === 'notifications/message') void this.notify?.(notification).catch(() => {});
  }

  upstreamClosed(): void {
    this.cancel(new ProtocolError(-32000, 'Connection closed'));
  }
}

/** The gateway's parked calls, by requestState. */
export class InputBridge {
  private readonly parked = new Map<string, ParkedCall>();

  constructor(readonly waitMs = 5 * 60_000) {}

  get size(): number {
    return this.parked.size;
  }

  park(owner: ParkedOwner, decision: Decision, hub: UpstreamHub): ParkedCall {
    const call = new ParkedCall(this, owner, decision, hub);
    this.parked.set(call.id, call);
    return call;
  }

  /** The parked call a retry resumes; unknown, expired or someone else's: the SDK's invalid requestState error. */
  resume(requestState: unknown, owner: ParkedOwner): ParkedCall {
    const call = typeof requestState === 'string' ? this.parked.get(requestState) : undefined;
    const o = call?.owner;
    if (
      !call ||
      o!.tenant !== owner.tenant ||
      o!.user !== owner.user ||
      o!.server !== owner.server ||
      o!.method !== owner.method ||
      o!.name !== owner.name
    )
      throw invalidState();
    return call;
  }

  forget(call: ParkedCall): void {
    if (this.parked.get(call.id) === call) this.parked.delete(call.id);
  }

  /** Cancels every parked call (gateway shutdown, server removed). */
  cancelAll(reason: Error, server?: string): void {
    for (const call of [...this.parked.values()]) if (!server || call.owner.server === server) call.cancel(reason);
  }
}
