// The one interception point: listing and calling are decided in the same place, so a tool the caller may not
// call is not listed (issues 4 and 5 plug policy and Temporal in here).

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export interface InterceptContext {
  tenant: string;
  user: string;
  roles: readonly string[];
  sessionId: string;
  server: string;
  method: string;
  /** Tool or prompt name, resource URI; undefined for methods without a target. */
  name?: string;
  /** Tool/prompt arguments (or the request params for other methods). */
  args?: Record<string, unknown>;
  transport: 'http' | 'stdio';
  remoteAddress?: string;
  /**
   * Set by the interceptor (the same ctx object reaches beforeRequest, afterResult and the operation record):
   * what the governance layer wants in this operation's audit record.
   */
  annotations?: OperationAnnotations;
  /**
   * Sends an MCP progress notification to the caller of THIS request, when it asked for progress (a
   * `_meta.progressToken`, in both eras; a 2026-07-28 response then upgrades to an SSE stream). A no-op otherwise.
   * Without `progress` the gateway counts up by one; values stay increasing across upstream progress.
   */
  progress?: (message: string, progress?: number, total?: number) => void;
}

/** Governance details the interceptor attaches to an operation's record (copied into `OperationRecord`). */
export interface OperationAnnotations {
  /** Config version of the policy engine that decided this call (changes on hot reload). */
  configVersion?: string;
  /** Audit level that applied: `none` still records the operation, without argument/result summaries. */
  auditLevel?: 'full' | 'summary' | 'none';
  argsSummary?: string;
  resultSummary?: string;
  /** Notes for the audit record, e.g. shadow-mode would-be denials and soft rate-limit hits. */
  notes?: string[];
  /** Overrides the outcome the forwarding layer derived (a governed call the approvers refused is `denied`). */
  outcome?: 'ok' | 'error' | 'denied' | 'timeout' | 'cancelled';
}

/** What the upstream said about itself (initialize result / server/discover), shown to the interceptor. */
export interface InitializeInfo {
  serverInfo?: unknown;
  instructions?: string;
  capabilities?: unknown;
}

/** Keep (or replace) the instructions the caller sees, or refuse the session / request with a message. */
export type InitializeDecision = { instructions?: string } | { deny: string };

export interface ForwardedRequest {
  method: string;
  params?: Record<string, unknown>;
}

export type McpResult = Record<string, unknown>;

/** Forwards a request to the upstream (after any transform) and resolves with its raw result. */
export type Forward = (params?: Record<string, unknown>) => Promise<McpResult>;

export type Decision =
  | { kind: 'allow'; policy?: string; rules?: string[] }
  | { kind: 'deny'; message: string; code?: number; policy?: string; rules?: string[] }
  | { kind: 'transform'; params: Record<string, unknown>; policy?: string; rules?: string[] }
  | {
      kind: 'governed';
      /** Runs the call durably (approval, quota saga...); calls `forward` when the call may go ahead. */
      run: (forward: Forward, signal: AbortSignal) => Promise<McpResult>;
      policy?: string;
      rules?: string[];
      operationId?: string;
    };

type MaybePromise<T> = T | Promise<T>;

export interface Interceptor {
  filterList<T extends { name?: string; uri?: string; uriTemplate?: string }>(
    ctx: InterceptContext,
    kind: ListKind,
    items: T[],
  ): MaybePromise<T[]>;
  beforeRequest(ctx: InterceptContext, request: ForwardedRequest): MaybePromise<Decision>;
  afterResult(ctx: InterceptContext, request: ForwardedRequest, result: McpResult): MaybePromise<McpResult>;
  /**
   * Checks what the upstream announced before a caller sees it: once per 2025 session (initialize), per request
   * for 2026-07-28 stateless requests (no handshake). `{ deny }` refuses with POLICY_DENIED; `{ instructions }`
   * replaces the instructions (omit the key to keep the upstream's).
   */
  filterInitialize?(ctx: InterceptContext, info: InitializeInfo): MaybePromise<InitializeDecision>;
  /**
   * Aggregate endpoint `/mcp`: may the caller use `ctx.server` at all (`ctx.method` is `initialize`, no name)? A
   * server refused here is absent from the caller's aggregate session: no upstream is started, nothing is listed.
   * Without this method every configured server takes part (each item and call is still decided as usual).
   */
  serverVisible?(ctx: InterceptContext): MaybePromise<boolean>;
  /**
   * Aggregate endpoint: a name two servers would expose alike was refused (never shadowed). Informational (alerting);
   * the refusal itself is already audited through the operation sink. `ctx.server` is the first owner.
   */
  collisionRefused?(ctx: InterceptContext, collision: AggregateCollision): void;
}

/** Items of several servers that the aggregate endpoint would expose under one name (tool, prompt, URI, template). */
export interface AggregateCollision {
  kind: ListKind;
  /** The name (tools, prompts: `<server>__<name>`) or URI / URI template as the aggregate endpoint exposes it. */
  exposedName: string;
  /** Every server and its own item name that maps to it, sorted by server. */
  owners: Array<{ server: string; name: string }>;
  /** What the caller and the audit record are told. */
  message: string;
}

export const ALLOW: Decision = Object.freeze({ kind: 'allow' }) as Decision;

/** Default: everything is allowed and passes through unchanged. */
export const allowAllInterceptor: Interceptor = {
  filterList: (_ctx, _kind, items) => items,
  beforeRequest: () => ALLOW,
  afterResult: (_ctx, _req, result) => result,
};

/** What the forwarding layer reports once per request, before the response leaves (the gateway audits it). */
export interface OperationRecord {
  time: Date;
  tenant: string;
  user: string;
  sessionId?: string;
  server: string;
  method: string;
  target?: string;
  decision: 'allow' | 'deny' | 'governed' | 'error';
  policy?: string;
  rules?: string[];
  outcome: 'ok' | 'error' | 'denied' | 'timeout' | 'cancelled';
  errorMessage?: string;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  operationId?: string;
  transport: 'http' | 'stdio';
  /** What the interceptor attached to the context (`InterceptContext.annotations`). */
  annotations?: OperationAnnotations;
  /** Set when the request came through the aggregate endpoint `/mcp` (server and target are the real ones). */
  endpoint?: 'aggregate';
  /** The name or URI the caller used on the aggregate endpoint (e.g. `memory__read_graph`). */
  exposedAs?: string;
}

export type OperationSink = (record: OperationRecord) => Promise<void>;
