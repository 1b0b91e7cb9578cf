// One assistant session of the aggregate endpoint `/mcp`: one SDK Server facing the assistant, and one member
// DownstreamSession per server the caller may use. Every request is routed to a member and goes through the member's
// own decision, forwarding, list filtering and operation record (exactly what `/mcp/<server>` does), with tool and
// prompt names prefixed `<server>__<name>` and resource URIs unchanged. A name two servers would expose alike is
// refused on both sides (listed by neither, calls refused, audited, alerted), never resolved by order.
import {
  ProtocolError,
  Server,
  UriTemplate,
  type Implementation,
  type JSONRPCRequest,
  type Notification,
  type ServerCapabilities,
  type Transport,
} from '@modelcontextprotocol/server';
import { detectCollisions } from '@atom-gov/pinning';
import { createHash } from 'node:crypto';
import type { DownstreamSession, InputRetry } from './downstream-session.js';
import type {
  AggregateCollision,
  InterceptContext,
  Interceptor,
  ListKind,
  McpResult,
  OperationRecord,
  OperationSink,
} from './interceptor.js';
import { passthroughResult, type UpstreamHub } from './upstream-hub.js';
import type { CallerIdentity, McpLogger } from './types.js';

/**
 * Separator between server and item name: `_` is in every client's tool-name alphabet (MCP 2025-11-25 allows
 * A-Z a-z 0-9 _ - . ; several clients and model APIs accept only A-Z a-z 0-9 _ -), and a double underscore is rare
 * inside names, so `<server>__<tool>` reads unambiguously in practice; where it is not, the collision rule refuses.
 */
export const AGGREGATE_SEPARATOR = '__';

/** JSON-RPC code for a request refused because two servers expose the same name on the aggregate endpoint. */
export const AGGREGATE_COLLISION = -32005;

/** Audit `server` of records about the aggregate endpoint itself (unknown names, its own session). */
export const AGGREGATE_SERVER = '*';

/** How many merged items one aggregate list page holds (the upstreams' own pages are all read and merged). */
const DEFAULT_PAGE_SIZE = 200;
/** Upper bound on pages read from one upstream for one listing (a server whose cursors never end). */
const MAX_UPSTREAM_PAGES = 1000;

const LIST_METHOD: Record<ListKind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};
const LIST_KIND: Record<string, ListKind> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};
const CHANGED_KINDS: Record<string, ListKind[]> = {
  'notifications/tools/list_changed': ['tools'],
  'notifications/prompts/list_changed': ['prompts'],
  'notifications/resources/list_changed': ['resources', 'resourceTemplates'],
};
const LABEL: Record<ListKind, string> = {
  tools: 'Tool',
  prompts: 'Prompt',
  resources: 'Resource',
  resourceTemplates: 'Resource template',
};

type Item = Record<string, unknown>;

interface Member {
  server: string;
  session: DownstreamSession;
  hub: UpstreamHub;
  /** Instructions after the interceptor's check (pinning may withhold them). */
  instructions?: string;
}

/** One merged listing of a kind: pages are served from it; calls are routed by it where a name is ambiguous. */
interface Snapshot {
  seq: number;
  items: Item[];
  /** Exposed name (tools, prompts) or URI / template -> the servers that offer it (more than one: refused). */
  owners: Map<string, Array<{ server: string; name: string }>>;
  collisions: Map<string, AggregateCollision>;
  /** Resource templates with their matcher (resourceTemplates snapshots only). */
  templates?: Array<{ server: string; uriTemplate: string; template: UriTemplate }>;
  digest?: string;
}

export interface AggregateSessionOptions {
  id: string;
  identity: CallerIdentity;
  transport: 'http' | 'stdio';
  remoteAddress?: string;
  interceptor?: Interceptor;
  onOperation?: OperationSink;
  logger: McpLogger;
  requestTimeoutMs?: number;
  pageSize?: number;
  serverInfo: Implementation;
  onclose?: () => void;
  /** Close when `notifications/initialized` has not arrived within this time. Default 30 s. */
  handshakeTimeoutMs?: number;
  /**
   * One 2026-07-28 request (no session): no handshake; retries of input_required rounds are passed to the member;
   * list cursors are checked against a digest of the merged list rebuilt per request.
   */
  stateless?: boolean;
}

type Notify = (n: Notification) => Promise<void>;
type Refusal = { refused: AggregateCollision };
type Route = { member: Member; name: string };

export class AggregateSession {
  private server?: Server;
  private readonly members: Member[] = [];
  private readonly snapshots = new Map<ListKind, Snapshot>();
  /** Kinds whose upstream lists changed since their snapshot (list_changed): rebuilt before routing by them. */
  private readonly stale = new Set<ListKind>();
  /** Collisions already audited and alerted in this session (once each, not on every listing). */
  private readonly reported = new Set<string>();
  private seq = 0;
  private active = 0;
  private closed = false;
  lastActivity = Date.now();

  constructor(private readonly opts: AggregateSessionOptions) {}

  get id(): string {
    return this.opts.id;
  }
  get identity(): CallerIdentity {
    return this.opts.identity;
  }
  get busy(): boolean {
    return this.active > 0;
  }
  get servers(): string[] {
    return this.members.map((m) => m.server);
  }
  get hubs(): UpstreamHub[] {
    return this.members.map((m) => m.hub);
  }

  /**
   * Adds a server: before `connect` in config order, or later when a server is added at a hot reload (the caller
   * then gets list_changed; capabilities and instructions stay those announced at initialize). `create` builds the
   * member session with the relay to this session.
   */
  addMember(
    server: string,
    hub: UpstreamHub,
    instructions: string | undefined,
    create: (relay: {
      request: (r: JSONRPCRequest, s: AbortSignal, related?: string | number) => Promise<McpResult>;
      notify: (n: Notification, related?: string | number) => void;
    }) => DownstreamSession,
  ): void {
    const member: Member = { server, hub, instructions, session: undefined as unknown as DownstreamSession };
    member.session = create({
      request: (request, signal, related) => this.requestFromUpstream(request, signal, related),
      notify: (notification, related) => this.notifyFromUpstream(notification, related),
    });
    this.members.push(member);
    // Joined at a hot reload: the caller's lists changed.
    if (this.server && !this.closed) {
      this.invalidate(['tools', 'prompts', 'resources', 'resourceTemplates']);
      for (const method of Object.keys(CHANGED_KINDS)) void this.sendNotification({ method });
    }
  }

  /** The member session of `server` ended (upstream gone, server removed): the server leaves the listings. */
  memberClosed(session: DownstreamSession): void {
    const i = this.members.findIndex((m) => m.session === session);
    if (i < 0) return;
    const [member] = this.members.splice(i, 1);
    if (this.closed) return;
    this.opts.logger.info(`aggregate session ${this.id}: server '${member!.server}' left`);
    this.invalidate(['tools', 'prompts', 'resources', 'resourceTemplates']);
    for (const method of Object.keys(CHANGED_KINDS)) void this.sendNotification({ method });
  }

  /** Ends the member of a server removed at a hot reload (its calls in flight get `error`). */
  async removeServer(server: string, error: Error): Promise<void> {
    const member = this.members.find((m) => m.server === server);
    if (member) await member.session.end(error);
  }

  async connect(transport: Transport): Promise<void> {
    await this.createServer().connect(transport);
  }

  /** The SDK Server facing the assistant (2026-07-28: the per-request server the SDK's handler connects itself). */
  createServer(): Server {
    const server = new Server(this.opts.serverInfo, {
      capabilities: unionCapabilities(this.members.map((m) => m.hub.capabilities)),
      instructions: this.instructions(),
    });
    // setLevel goes to every server that logs; ping is answered here (the session is alive while it answers).
    server.removeRequestHandler('logging/setLevel');
    server.fallbackRequestHandler = async (request, ctx) => {
      this.lastActivity = Date.now();
      this.active++;
      try {
        const retry = this.opts.stateless
          ? { requestState: ctx.mcpReq.requestState<string>(), inputResponses: ctx.mcpReq.inputResponses }
          : undefined;
        return await this.handle(request, ctx.mcpReq.signal, ctx.mcpReq.notify, retry);
      } finally {
        this.active--;
        this.lastActivity = Date.now();
      }
    };
    server.fallbackNotificationHandler = async (notification) => {
      await Promise.all(this.members.map((m) => m.hub.notify(notification).catch(() => {})));
    };
    server.onclose = () => void this.close();
    server.onerror = (error) => this.opts.logger.warn(`aggregate session ${this.id}: ${error.message}`);
    if (!this.opts.stateless) {
      const handshake = setTimeout(() => void this.close(), this.opts.handshakeTimeoutMs ?? 30_000);
      handshake.unref();
      server.oninitialized = () => clearTimeout(handshake);
    }
    this.server = server;
    return server;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.members].map((m) => m.session.close()));
    await this.server?.close().catch(() => {});
    this.opts.onclose?.();
  }

  private instructions(): string | undefined {
    const names = this.members.map((m) => m.server);
    const head =
      names.length === 0
        ? 'ATOM-GOV aggregate endpoint: no MCP server is available to you here.'
        : `ATOM-GOV aggregate endpoint for the MCP servers ${names.map((n) => `'${n}'`).join(', ')}. Tools and ` +
          `prompts are named <server>${AGGREGATE_SEPARATOR}<name> (e.g. '${names[0]}${AGGREGATE_SEPARATOR}...'); ` +
          "resource URIs are the servers' own.";
    const parts = this.members
      .filter((m) => m.instructions !== undefined && m.instructions.trim() !== '')
      .map((m) => {
        const info = m.hub.serverInfo;
        return `## Server '${m.server}' (${info.name} ${info.version})\n\n${m.instructions!.trim()}`;
      });
    return [head, ...parts].join('\n\n');
  }

  private async handle(
    request: JSONRPCRequest,
    signal: AbortSignal,
    notify: Notify,
    retry?: InputRetry,
  ): Promise<McpResult> {
    const method = request.method;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const kind = LIST_KIND[method];
    if (kind) return this.list(kind, request, params, signal, notify);
    switch (method) {
      case 'tools/call':
      case 'prompts/get': {
        const what = method === 'tools/call' ? 'tools' : 'prompts';
        const exposed = params.name;
        if (typeof exposed !== 'string')
          throw new ProtocolError(-32602, `Invalid params: ${method} needs a string name`);
        const route = await this.routeName(what, exposed, request, signal, notify);
        if (!route) return this.unknown(method, exposed, `${LABEL[what]} ${exposed} not found`);
        if ('refused' in route) return this.refuse(method, route.refused, exposed);
        return route.member.session.dispatch(
          { ...request, params: { ...params, name: route.name } },
          signal,
          notify,
          exposed,
          retry,
        );
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const uri = params.uri;
        if (typeof uri !== 'string') throw new ProtocolError(-32602, `Invalid params: ${method} needs a string uri`);
        const route = await this.routeUri(uri, request, signal, notify);
        if (!route) return this.unknown(method, uri, `Resource ${uri} not found`, -32002);
        if ('refused' in route) return this.refuse(method, route.refused, uri);
        return route.member.session.dispatch(request, signal, notify, uri, retry);
      }
      case 'completion/complete':
        return this.complete(request, params, signal, notify);
      case 'logging/setLevel': {
        const logging = this.members.filter((m) => m.hub.capabilities.logging);
        await Promise.all(logging.map((m) => m.session.dispatch(request, signal, notify)));
        return {};
      }
      default:
        throw new ProtocolError(-32601, `Method not found: ${method}`);
    }
  }

  private async complete(
    request: JSONRPCRequest,
    params: Record<string, unknown>,
    signal: AbortSignal,
    notify: Notify,
  ): Promise<McpResult> {
    const ref = params.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
    if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
      const route = await this.routeName('prompts', ref.name, request, signal, notify);
      if (!route) return this.unknown('completion/complete', ref.name, `Prompt ${ref.name} not found`);
      if ('refused' in route) return this.refuse('completion/complete', route.refused, ref.name);
      const forwarded = { ...params, ref: { ...ref, name: route.name } };
      return route.member.session.dispatch({ ...request, params: forwarded }, signal, notify, ref.name);
    }
    if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
      const templates = await this.current('resourceTemplates', request, signal, notify);
      const route = this.routeTemplate(templates, ref.uri);
      if (!route) return this.unknown('completion/complete', ref.uri, `Resource template ${ref.uri} not found`);
      if ('refused' in route) return this.refuse('completion/complete', route.refused, ref.uri);
      return route.member.session.dispatch(request, signal, notify, ref.uri);
    }
    throw new ProtocolError(
      -32602,
      'Invalid params: completion/complete needs ref { type: ref/prompt, name } or { type: ref/resource, uri }',
    );
  }

  /**
   * Tool and prompt names: the prefix names the server. Only when server names themselves overlap (`a` and `a__b`)
   * can a name have two readings; then the merged listing says who offers it, and two owners are a collision.
   */
  private async routeName(
    kind: 'tools' | 'prompts',
    exposed: string,
    request: JSONRPCRequest,
    signal: AbortSignal,
    notify: Notify,
  ): Promise<Route | Refusal | undefined> {
    const candidates = this.members.filter(
      (m) =>
        exposed.startsWith(m.server + AGGREGATE_SEPARATOR) &&
        exposed.length > m.server.length + AGGREGATE_SEPARATOR.length,
    );
    const strip = (m: Member) => exposed.slice(m.server.length + AGGREGATE_SEPARATOR.length);
    if (candidates.length === 0) return undefined;
    if (candidates.length === 1) return { member: candidates[0]!, name: strip(candidates[0]!) };
    const snapshot = await this.current(kind, request, signal, notify);
    const collision = snapshot.collisions.get(exposed);
    if (collision) return { refused: collision };
    const owner = snapshot.owners.get(exposed)?.[0];
    const member = owner && this.members.find((m) => m.server === owner.server);
    if (member) return { member, name: owner.name };
    // Listed by none: the most specific server reading answers (its upstream or policy says what is wrong).
    const longest = candidates.reduce((a, b) => (b.server.length > a.server.length ? b : a));
    return { member: longest, name: strip(longest) };
  }

  /**
   * Resource URIs are not renamed: a URI listed by one server goes there; listed by several, or matching the
   * templates of several, it is a collision; unlisted and unmatched, the only server offering resources gets it.
   */
  private async routeUri(
    uri: string,
    request: JSONRPCRequest,
    signal: AbortSignal,
    notify: Notify,
  ): Promise<Route | Refusal | undefined> {
    const resources = await this.current('resources', request, signal, notify);
    const collision = resources.collisions.get(uri);
    if (collision) return { refused: collision };
    const owner = resources.owners.get(uri)?.[0];
    const member = owner && this.members.find((m) => m.server === owner.server);
    if (member) return { member, name: uri };
    const templates = await this.current('resourceTemplates', request, signal, notify);
    const matching = [
      ...new Set((templates.templates ?? []).filter((t) => t.template.match(uri)).map((t) => t.server)),
    ];
    if (matching.length > 1) {
      const owners = (templates.templates ?? [])
        .filter((t) => matching.includes(t.server) && t.template.match(uri))
        .map((t) => ({ server: t.server, name: t.uriTemplate }))
        .sort((a, b) => (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
      return { refused: this.collision('resources', uri, owners) };
    }
    const byTemplate = matching.length === 1 && this.members.find((m) => m.server === matching[0]);
    if (byTemplate) return { member: byTemplate, name: uri };
    const offering = this.members.filter((m) => m.hub.capabilities.resources);
    return offering.length === 1 ? { member: offering[0]!, name: uri } : undefined;
  }

  private routeTemplate(snapshot: Snapshot, uriTemplate: string): Route | Refusal | undefined {
    const collision = snapshot.collisions.get(uriTemplate);
    if (collision) return { refused: collision };
    const owner = snapshot.owners.get(uriTemplate)?.[0];
    const member = owner && this.members.find((m) => m.server === owner.server);
    return member ? { member, name: uriTemplate } : undefined;
  }

  /** The snapshot to route by: rebuilt when missing or when its upstream lists changed since. */
  private async current(
    kind: ListKind,
    request: JSONRPCRequest,
    signal: AbortSignal,
    notify: Notify,
  ): Promise<Snapshot> {
    const snapshot = this.snapshots.get(kind);
    if (snapshot && !this.stale.has(kind)) return snapshot;
    return this.build(kind, request, {}, signal, notify);
  }

  private async list(
    kind: ListKind,
    request: JSONRPCRequest,
    params: Record<string, unknown>,
    signal: AbortSignal,
    notify: Notify,
  ): Promise<McpResult> {
    const { cursor, ...rest } = params;
    let snapshot: Snapshot;
    let offset = 0;
    if (cursor !== undefined) {
      const c = decodeCursor(cursor);
      // Stateless (2026-07-28): every page request rebuilds the merged list; the cursor's digest proves it unchanged.
      let s = this.snapshots.get(kind);
      if (c && c.k === kind && this.opts.stateless) s = await this.build(kind, request, rest, signal, notify);
      if (!c || c.k !== kind || !s || (this.opts.stateless ? digest(s) !== c.d : s.seq !== c.s) || c.o > s.items.length)
        throw new ProtocolError(
          -32602,
          `Invalid cursor for ${LIST_METHOD[kind]}: it is not one this session issued, or the listing has changed since; list again without a cursor`,
        );
      snapshot = s;
      offset = c.o;
    } else snapshot = await this.build(kind, request, rest, signal, notify);
    const size = this.opts.pageSize ?? DEFAULT_PAGE_SIZE;
    const end = offset + size;
    const key = kind === 'resourceTemplates' ? 'resourceTemplates' : kind;
    return {
      [key]: snapshot.items.slice(offset, end),
      ...(end < snapshot.items.length
        ? { nextCursor: encodeCursor({ k: kind, s: snapshot.seq, o: end, d: digest(snapshot) }) }
        : {}),
    };
  }

  /**
   * Reads every page of every member (each page through the member: filtered by policy and pinning, audited),
   * refuses colliding names on all sides, and keeps the merged list for pages and routing.
   */
  private async build(
    kind: ListKind,
    request: JSONRPCRequest,
    params: Record<string, unknown>,
    signal: AbortSignal,
    notify: Notify,
  ): Promise<Snapshot> {
    this.stale.delete(kind);
    const method = LIST_METHOD[kind];
    const members = this.members.filter((m) => offers(m.hub.capabilities, kind));
    const lists = await Promise.all(
      members.map(async (m) => {
        try {
          return { member: m, items: await this.readAll(m, kind, request, params, signal, notify) };
        } catch (error) {
          // Governance fails closed: an audit failure or a cancellation fails the whole listing.
          if (signal.aborted || /^Audit trail unavailable/.test((error as Error).message)) throw error;
          // One failing upstream must not hide the others; its items are absent from this listing.
          this.opts.logger.warn(`aggregate ${method}: server '${m.server}' failed: ${(error as Error).message}`);
          return { member: m, items: [] as Item[] };
        }
      }),
    );
    const field = kind === 'resources' ? 'uri' : kind === 'resourceTemplates' ? 'uriTemplate' : 'name';
    const prefixed = kind === 'tools' || kind === 'prompts';
    const expose = (server: string, name: string) => (prefixed ? `${server}${AGGREGATE_SEPARATOR}${name}` : name);
    const byServer = new Map<string, Array<{ name?: string }>>();
    for (const { member, items } of lists)
      byServer.set(
        member.server,
        items.map((i) => ({ name: typeof i[field] === 'string' ? (i[field] as string) : undefined })),
      );
    const collisions = new Map<string, AggregateCollision>();
    for (const c of detectCollisions(byServer, { exposedName: expose }))
      collisions.set(c.exposedName, this.collision(kind, c.exposedName, c.owners));
    const snapshot: Snapshot = { seq: ++this.seq, items: [], owners: new Map(), collisions };
    if (kind === 'resourceTemplates') snapshot.templates = [];
    for (const { member, items } of lists) {
      for (const item of items) {
        const name = item[field];
        if (typeof name !== 'string') continue;
        const exposed = expose(member.server, name);
        if (snapshot.templates) {
          // Colliding templates too: a URI they match is then refused as ambiguous, not sent to one of them.
          try {
            snapshot.templates.push({ server: member.server, uriTemplate: name, template: new UriTemplate(name) });
          } catch {
            // A template the SDK cannot parse matches nothing; the item is still listed as the server gave it.
          }
        }
        if (collisions.has(exposed)) continue;
        const owners = snapshot.owners.get(exposed) ?? [];
        owners.push({ server: member.server, name });
        snapshot.owners.set(exposed, owners);
        snapshot.items.push(prefixed ? { ...item, name: exposed } : item);
      }
    }
    this.snapshots.set(kind, snapshot);
    for (const c of collisions.values()) await this.report(c);
    return snapshot;
  }

  private async readAll(
    member: Member,
    kind: ListKind,
    request: JSONRPCRequest,
    params: Record<string, unknown>,
    signal: AbortSignal,
    notify: Notify,
  ): Promise<Item[]> {
    const method = LIST_METHOD[kind];
    const key = kind === 'resourceTemplates' ? 'resourceTemplates' : kind;
    const items: Item[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_UPSTREAM_PAGES; page++) {
      const result = await member.session.dispatch(
        { jsonrpc: '2.0', id: request.id, method, params: { ...params, ...(cursor !== undefined ? { cursor } : {}) } },
        signal,
        notify,
      );
      const got = result[key];
      if (Array.isArray(got)) items.push(...(got as Item[]));
      const next = result.nextCursor;
      if (typeof next !== 'string' || next === '' || seen.has(next)) return items;
      seen.add(next);
      cursor = next;
    }
    this.opts.logger.warn(
      `aggregate ${method}: server '${member.server}' returned more than ${MAX_UPSTREAM_PAGES} pages`,
    );
    return items;
  }

  private collision(
    kind: ListKind,
    exposedName: string,
    owners: Array<{ server: string; name: string }>,
  ): AggregateCollision {
    // Resources keep their URI, so their own name would only repeat it.
    const who = owners
      .map((o) => (o.name === exposedName ? `'${o.server}'` : `'${o.server}' (${o.name})`))
      .join(' and ');
    const where = owners.map((o) => `/mcp/${o.server}`).join(' or ');
    const message =
      `${LABEL[kind]} '${exposedName}' is refused on the aggregate endpoint: servers ${who} both expose it under ` +
      `this name, and the gateway never lets one server shadow another. Use ${where}, or rename a server.`;
    return { kind, exposedName, owners, message };
  }

  /** Audits (one record per owner, with the real server and name) and alerts a collision once per session. */
  private async report(c: AggregateCollision): Promise<void> {
    const key = JSON.stringify([c.kind, c.exposedName, c.owners]);
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.opts.logger.warn(`aggregate session ${this.id}: ${c.message}`);
    for (const owner of c.owners)
      await this.record({
        server: owner.server,
        method: LIST_METHOD[c.kind],
        target: owner.name,
        errorMessage: c.message,
        exposedAs: c.exposedName,
        policy: 'aggregate-collision',
      });
    try {
      this.opts.interceptor?.collisionRefused?.(this.context(c.owners[0]?.server ?? AGGREGATE_SERVER, c.kind), c);
    } catch (error) {
      this.opts.logger.warn(`collision alert failed: ${(error as Error).message}`);
    }
  }

  /** A call of a colliding name: refused like a policy denial (tool result with isError, else a JSON-RPC error). */
  private async refuse(method: string, c: AggregateCollision, exposed: string): Promise<McpResult> {
    for (const owner of c.owners)
      await this.record({
        server: owner.server,
        method,
        target: owner.name,
        errorMessage: c.message,
        exposedAs: exposed,
        policy: 'aggregate-collision',
      });
    if (method === 'tools/call') return { content: [{ type: 'text', text: c.message }], isError: true };
    throw new ProtocolError(AGGREGATE_COLLISION, c.message);
  }

  /** A name no server of this session has (or a server the caller may not use): the SDK's own "not found". */
  private async unknown(method: string, exposed: string, message: string, code = -32602): Promise<McpResult> {
    const hint =
      this.members.length === 0
        ? 'no server is available to you on this endpoint'
        : `names here are <server>${AGGREGATE_SEPARATOR}<name> for the servers ${this.members.map((m) => m.server).join(', ')}`;
    await this.record({
      server: AGGREGATE_SERVER,
      method,
      target: exposed,
      errorMessage: `${message} (${hint})`,
      exposedAs: exposed,
      outcome: 'error',
    });
    throw new ProtocolError(code, `${message} (${hint})`);
  }

  private async record(r: {
    server: string;
    method: string;
    target: string;
    errorMessage: string;
    exposedAs: string;
    policy?: string;
    outcome?: 'denied' | 'error';
  }): Promise<void> {
    if (!this.opts.onOperation) return;
    const outcome = r.outcome ?? 'denied';
    const record: OperationRecord = {
      time: new Date(),
      tenant: this.identity.tenant,
      user: this.identity.user,
      sessionId: this.id,
      server: r.server,
      method: r.method,
      target: r.target,
      decision: outcome === 'denied' ? 'deny' : 'error',
      ...(r.policy ? { policy: r.policy, rules: [r.policy] } : {}),
      outcome,
      errorMessage: r.errorMessage,
      durationMs: 0,
      requestBytes: 0,
      responseBytes: 0,
      transport: this.opts.transport,
      endpoint: 'aggregate',
      exposedAs: r.exposedAs,
    };
    try {
      await this.opts.onOperation(record);
    } catch (error) {
      this.opts.logger.error(`audit write failed: ${(error as Error).message}`);
      throw new ProtocolError(-32603, 'Audit trail unavailable: the request was not answered');
    }
  }

  private context(server: string, kind: ListKind): InterceptContext {
    return {
      tenant: this.identity.tenant,
      user: this.identity.user,
      roles: this.identity.roles,
      sessionId: this.id,
      server,
      method: LIST_METHOD[kind],
      transport: this.opts.transport,
      remoteAddress: this.opts.remoteAddress,
    };
  }

  private invalidate(kinds: ListKind[]): void {
    for (const k of kinds) if (this.snapshots.has(k)) this.stale.add(k);
  }

  private requestFromUpstream(
    request: JSONRPCRequest,
    signal: AbortSignal,
    relatedRequestId?: string | number,
  ): Promise<McpResult> {
    if (!this.server) return Promise.reject(new Error('the aggregate session is not connected yet'));
    return this.server.request({ method: request.method, params: request.params } as never, passthroughResult, {
      signal,
      relatedRequestId,
      timeout: this.opts.requestTimeoutMs ?? 600_000,
    });
  }

  private notifyFromUpstream(notification: Notification, relatedRequestId?: string | number): void {
    const kinds = CHANGED_KINDS[notification.method];
    if (kinds) this.invalidate(kinds);
    void this.sendNotification(notification, relatedRequestId);
  }

  private async sendNotification(notification: Notification, relatedRequestId?: string | number): Promise<void> {
    if (!this.server || this.closed) return;
    try {
      await this.server.notification(
        notification as never,
        relatedRequestId === undefined ? undefined : { relatedRequestId },
      );
    } catch (error) {
      // The related stream may have ended meanwhile: deliver on the session's standalone stream instead.
      if (relatedRequestId !== undefined) return this.sendNotification(notification);
      this.opts.logger.warn(
        `aggregate session ${this.id}: cannot deliver ${notification.method}: ${(error as Error).message}`,
      );
    }
  }
}

function offers(capabilities: ServerCapabilities, kind: ListKind): boolean {
  return Boolean(kind === 'resourceTemplates' ? capabilities.resources : capabilities[kind]);
}

/**
 * What the aggregate offers: every capability any member offers (flags OR-ed, objects merged); lists may change
 * on their own (servers leave at a hot reload), so list_changed is announced for every kind offered.
 */
export function unionCapabilities(all: readonly ServerCapabilities[]): ServerCapabilities {
  const merge = (a: unknown, b: unknown): unknown => {
    if (isObject(a) && isObject(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
      return out;
    }
    if (typeof a === 'boolean' && typeof b === 'boolean') return a || b;
    return a ?? b;
  };
  let union: Record<string, unknown> = {};
  for (const c of all) union = merge(union, c) as Record<string, unknown>;
  for (const kind of ['tools', 'prompts', 'resources'])
    if (isObject(union[kind])) union[kind] = { ...(union[kind] as object), listChanged: true };
  return union as ServerCapabilities;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Cursor {
  k: ListKind;
  s: number;
  o: number;
  /** Digest of the merged list's exposed names (stateless requests rebuild the list and compare). */
  d: string;
}

function digest(s: Snapshot): string {
  s.digest ??= createHash('sha256')
    .update(JSON.stringify([...s.owners.keys()]))
    .digest('base64url')
    .slice(0, 16);
  return s.digest;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(cursor: unknown): Cursor | undefined {
  if (typeof cursor !== 'string') return undefined;
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (
      typeof c.k === 'string' &&
      typeof c.d === 'string' &&
      Number.isSafeInteger(c.s) &&
      Number.isSafeInteger(c.o) &&
      c.o! >= 0
    )
      return c as Cursor;
  } catch {
    // not one of ours
  }
  return undefined;
}
