// The downstream side the gateway mounts at /mcp/:server: Streamable HTTP sessions (2025 revisions,
// Mcp-Session-Id) each forwarding to an upstream hub; launched servers; idle reaping; upstream caps.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { NodeStreamableHTTPServerTransport, toWebRequest } from '@modelcontextprotocol/node';
import type { ClientCapabilities, Implementation } from '@modelcontextprotocol/client';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  localhostAllowedOrigins,
  validateHostHeader,
  validateOriginHeader,
  type McpHttpHandler,
  ProtocolError,
  type McpRequestContext,
  type Server,
} from '@modelcontextprotocol/server';
import { AGGREGATE_SERVER, AggregateSession } from './aggregate-session.js';
import { DownstreamSession, POLICY_DENIED, type SessionOptions } from './downstream-session.js';
import { InputBridge } from './input-bridge.js';
import type { InitializeDecision, InterceptContext, Interceptor, OperationSink } from './interceptor.js';
import { LaunchedServer } from './launched-server.js';
import { passthroughResult, UpstreamHub } from './upstream-hub.js';
import { silentLogger, type CallerIdentity, type McpLogger, type UpstreamServerConfig } from './types.js';

export interface McpGatewayOptions {
  servers: readonly UpstreamServerConfig[];
  interceptor?: Interceptor;
  onOperation?: OperationSink;
  logger?: McpLogger;
  /** Sessions idle this long are closed (their upstream killed). Default 30 min. */
  idleTimeoutMs?: number;
  /** Cap on upstream connections (processes) per server. Default 64. */
  maxUpstreamsPerServer?: number;
  /** Cap on a request body the endpoint reads itself. Default 4 MiB. */
  maxBodyBytes?: number;
  requestTimeoutMs?: number;
  /** Host header allowlist (hostnames; DNS rebinding protection). Unset: no Host check. */
  allowedHosts?: readonly string[];
  /** Origins (or hostnames) browsers may call from; unset or empty: localhost-class origins only. */
  allowedOrigins?: readonly string[];
  /** Called once a session has closed and its upstream was released. */
  onSessionClosed?: (sessionId: string, server: string) => void;
  /** Serve the aggregate endpoint (`handleAggregate`): every server the caller may use in one session. Default off. */
  aggregate?: boolean;
  /** Merged items per aggregate list page. Default 200. */
  aggregatePageSize?: number;
}

export interface HandleOptions {
  identity: CallerIdentity;
  /** Body already parsed by a framework; read from the request otherwise. */
  parsedBody?: unknown;
  remoteAddress?: string;
  transport?: 'http' | 'stdio';
}

interface SessionEntry {
  session: DownstreamSession;
  transport: NodeStreamableHTTPServerTransport;
}

type AggregateInit = { id: string | number; clientInfo: Implementation; capabilities: ClientCapabilities };

interface AggregateEntry {
  session: AggregateSession;
  transport: NodeStreamableHTTPServerTransport;
  /** What the caller announced: servers joining later are opened with it too. */
  init: AggregateInit;
  opts: HandleOptions;
  /** Loopback caller (local_only servers take part). */
  local: boolean;
}

/** A JSON body is needed before a session exists (initialize); this error says what was wrong. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly id: string | number | null = null,
  ) {
    super(message);
  }
}

/** What `McpGateway.updateServers` changed, by server name. */
export interface ServerUpdate {
  added: string[];
  removed: string[];
  /** The upstream definition changed (command, args, env, cwd, url, headers, launch, share). */
  changed: string[];
  /** Resolves once the sessions of removed servers have ended and retired upstreams are stopped. */
  settled: Promise<void>;
}

/** JSON-RPC code for requests to a server removed while they ran (implementation range; -32002 is MCP's resource not found). */
export const SERVER_REMOVED = -32004;

export class McpGateway {
  private readonly servers = new Map<string, UpstreamServerConfig>();
  /** Servers removed at a hot reload, with when: requests to them get a 404 that says so. */
  private readonly removed = new Map<string, Date>();
  private readonly launched = new Map<string, LaunchedServer>();
  /** Upstream hubs using each launched server; a launched server replaced at a reload stops with its last one. */
  private readonly launchedUsers = new Map<LaunchedServer, number>();
  private readonly retiredLaunches = new Set<LaunchedServer>();
  private readonly sessions = new Map<string, SessionEntry>();
  /** Sessions of the aggregate endpoint `/mcp`. */
  private readonly aggregates = new Map<string, AggregateEntry>();
  /** share: true hubs, keyed by server and tenant. */
  private readonly sharedHubs = new Map<string, Promise<UpstreamHub>>();
  private readonly upstreamCount = new Map<string, number>();
  /** 2026-07-28 stateless serving, one SDK handler per server; upstreams pooled per server and tenant. */
  private readonly modernHandlers = new Map<string, McpHttpHandler>();
  private readonly pooledHubs = new Map<string, Promise<UpstreamHub>>();
  /** 2026-07-28 calls waiting for their caller's input (upstream sampling, elicitation, roots requests). */
  private readonly inputBridge = new InputBridge();
  private readonly logger: McpLogger;
  private readonly reaper: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly opts: McpGatewayOptions) {
    this.logger = opts.logger ?? silentLogger;
    for (const s of opts.servers) this.servers.set(s.name, s);
    const idle = opts.idleTimeoutMs ?? 30 * 60_000;
    this.reaper = setInterval(() => this.reap(idle), Math.max(50, Math.min(idle / 4, 30_000)));
    this.reaper.unref();
  }

  has(server: string): boolean {
    return this.servers.has(server);
  }
  serverNames(): string[] {
    return [...this.servers.keys()];
  }
  get sessionCount(): number {
    return this.sessions.size;
  }
  get aggregateSessionCount(): number {
    return this.aggregates.size;
  }
  /** Pids of running upstream stdio processes (tests check process hygiene with it). */
  upstreamPids(): number[] {
    const pids = new Set<number>();
    for (const { session } of this.sessions.values()) if (session.hub.pid) pids.add(session.hub.pid);
    for (const { session } of this.aggregates.values()) for (const hub of session.hubs) if (hub.pid) pids.add(hub.pid);
    return [...pids];
  }

  /** Pid (= process group) of a gateway-launched server, when running. */
  launchedPid(server: string): number | undefined {
    return this.launched.get(server)?.pid;
  }

  /**
   * Hot reload of the governed servers (the map is swapped synchronously, so a request sees the old set or the
   * new one): an added server is served at once; a removed one answers new requests 404 and its sessions end (calls
   * in flight get a SERVER_REMOVED error, upstream process groups are killed); a changed one serves new sessions
   * with the new definition while open sessions keep the upstream they have until they end.
   */
  updateServers(defs: readonly UpstreamServerConfig[]): ServerUpdate {
    const next = new Map(defs.map((d) => [d.name, d]));
    const update: Omit<ServerUpdate, 'settled'> = { added: [], removed: [], changed: [] };
    const endings: Promise<void>[] = [];
    for (const [name, old] of this.servers) {
      const def = next.get(name);
      if (!def) {
        update.removed.push(name);
        this.servers.delete(name);
        this.removed.set(name, new Date());
        endings.push(this.retireServer(name, true));
      } else if (upstreamKey(def) !== upstreamKey(old)) {
        update.changed.push(name);
        endings.push(this.retireServer(name, false));
      }
    }
    for (const [name, def] of next) {
      if (!this.servers.has(name)) update.added.push(name);
      this.servers.set(name, def);
      this.removed.delete(name);
    }
    for (const name of update.added)
      for (const entry of this.aggregates.values()) endings.push(this.joinAggregate(entry, next.get(name)!));
    if (update.added.length + update.removed.length + update.changed.length > 0)
      this.logger.info(
        `servers reloaded: added [${update.added.join(', ')}], removed [${update.removed.join(', ')}], ` +
          `changed [${update.changed.join(', ')}]`,
      );
    return { ...update, settled: Promise.all(endings).then(() => {}) };
  }

  /**
   * New sessions of `name` must not reach the upstreams it has now. Removed: every session, pooled and shared hub
   * ends. Changed: shared and pooled hubs are no longer handed out (each closes when its last user is gone) and a
   * launched server stops with its last upstream connection.
   */
  private async retireServer(name: string, removed: boolean): Promise<void> {
    const prefix = `${name}\u0000`;
    const error = removedError(name);
    const hubs: Promise<UpstreamHub>[] = [];
    for (const map of [this.sharedHubs, this.pooledHubs])
      for (const [key, pending] of map)
        if (key.startsWith(prefix)) {
          map.delete(key);
          hubs.push(pending);
        }
    const launched = this.launched.get(name);
    if (launched) {
      this.launched.delete(name);
      this.retiredLaunches.add(launched);
    }
    const work: Promise<unknown>[] = [];
    if (removed) {
      this.inputBridge.cancelAll(error, name);
      for (const [key, handler] of this.modernHandlers)
        if (key.startsWith(prefix)) {
          this.modernHandlers.delete(key);
          work.push(handler.close().catch(() => {}));
        }
      for (const { session } of [...this.sessions.values()])
        if (session.hub.name === name) work.push(session.end(error));
      // The server leaves every aggregate session (which tells its caller the lists changed).
      for (const { session } of [...this.aggregates.values()]) work.push(session.removeServer(name, error));
    }
    for (const pending of hubs)
      work.push(
        pending.then(
          async (hub) => {
            hub.keepOpen = false;
            if (removed) {
              hub.abortForwards(error);
              await hub.close();
            } else await hub.closeIfUnused();
          },
          () => {},
        ),
      );
    await Promise.all(work);
    if (launched && (this.launchedUsers.get(launched) ?? 0) === 0) await this.stopRetired(launched);
  }

  private async stopRetired(launched: LaunchedServer): Promise<void> {
    if (!this.retiredLaunches.delete(launched)) return;
    this.launchedUsers.delete(launched);
    await launched.stop();
  }

  async handle(serverName: string, req: IncomingMessage, res: ServerResponse, opts: HandleOptions): Promise<void> {
    try {
      const config = this.servers.get(serverName);
      if (!config) {
        const removedAt = this.removed.get(serverName);
        throw new HttpError(
          404,
          -32601,
          removedAt
            ? `MCP server '${serverName}' was removed from the gateway configuration at ${removedAt.toISOString()}; ` +
                `its sessions have ended. Configured servers: ${this.serverNames().join(', ') || '(none)'}`
            : `Unknown MCP server '${serverName}'. Configured servers: ${this.serverNames().join(', ') || '(none)'}`,
        );
      }
      this.checkHostAndOrigin(req);
      if (config.localOnly && !isLoopback(opts.remoteAddress ?? req.socket.remoteAddress)) {
        throw new HttpError(
          403,
          -32000,
          `Forbidden: server '${serverName}' is local_only and serves loopback callers only`,
        );
      }
      // The stdio bridge marks its sessions (informational: audit records say how the assistant connected).
      if (opts.transport === undefined)
        opts = { ...opts, transport: header(req, 'x-atom-gov-transport') === 'stdio' ? 'stdio' : 'http' };
      const sessionId = header(req, 'mcp-session-id');
      if (sessionId !== undefined) {
        const entry = this.sessions.get(sessionId);
        // A session of another caller is reported exactly like an unknown one.
        if (!entry || !sameCaller(entry.session.identity, opts.identity) || entry.session.hub.name !== serverName) {
          throw new HttpError(404, -32001, 'Session not found');
        }
        entry.session.lastActivity = Date.now();
        if (req.method !== 'POST') return await entry.transport.handleRequest(req, res, undefined);
        const body = await this.body(req, opts);
        if (fastHeaders(req)) {
          if (entry.session.serveFast(body, res)) return;
          if (entry.session.cancelFast(body)) return void res.writeHead(202).end();
        }
        await entry.transport.handleRequest(req, res, body);
        return;
      }
      if (req.method !== 'POST') throw new HttpError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      const body = await this.body(req, opts);
      const init = asInitialize(body);
      if (init) return await this.openSession(config, init, req, res, body, opts);
      await this.serveModern(config, await statelessRequest(req, res, body), body, res, opts);
    } catch (error) {
      await this.fail(serverName, error, req, res, opts);
    }
  }

  /**
   * The aggregate endpoint `/mcp` (opt-in): a 2025-era session (or a 2026-07-28 stateless request) offering every
   * server the caller may use, tool and prompt names prefixed `<server>__`, each request decided, forwarded and
   * audited by that server's own session machinery (see aggregate-session.ts).
   */
  async handleAggregate(req: IncomingMessage, res: ServerResponse, opts: HandleOptions): Promise<void> {
    try {
      if (!this.opts.aggregate)
        throw new HttpError(
          404,
          -32601,
          'The aggregate endpoint /mcp is not enabled: set gateway.aggregate: true in the configuration, or connect ' +
            `to one server at /mcp/<server> (configured: ${this.serverNames().join(', ') || '(none)'})`,
        );
      this.checkHostAndOrigin(req);
      if (opts.transport === undefined)
        opts = { ...opts, transport: header(req, 'x-atom-gov-transport') === 'stdio' ? 'stdio' : 'http' };
      const sessionId = header(req, 'mcp-session-id');
      if (sessionId !== undefined) {
        const entry = this.aggregates.get(sessionId);
        if (!entry || !sameCaller(entry.session.identity, opts.identity))
          throw new HttpError(404, -32001, 'Session not found');
        entry.session.lastActivity = Date.now();
        if (req.method !== 'POST') return await entry.transport.handleRequest(req, res, undefined);
        return await entry.transport.handleRequest(req, res, await this.body(req, opts));
      }
      if (req.method !== 'POST') throw new HttpError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      const body = await this.body(req, opts);
      const init = asInitialize(body);
      if (init) return await this.openAggregate(init, req, res, body, opts);
      await this.serveModernAggregate(await statelessRequest(req, res, body), body, req, res, opts);
    } catch (error) {
      await this.fail(AGGREGATE_SERVER, error, req, res, opts);
    }
  }

  private async openAggregate(
    init: AggregateInit,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    opts: HandleOptions,
  ): Promise<void> {
    const id = randomUUID();
    const local = isLoopback(opts.remoteAddress ?? req.socket.remoteAddress);
    const aggregate = new AggregateSession({
      id,
      identity: opts.identity,
      transport: opts.transport ?? 'http',
      remoteAddress: opts.remoteAddress,
      interceptor: this.opts.interceptor,
      onOperation: this.opts.onOperation,
      logger: this.logger,
      requestTimeoutMs: this.opts.requestTimeoutMs,
      pageSize: this.opts.aggregatePageSize,
      serverInfo: { name: 'atom-gov', version: '0.1.0', title: 'ATOM-GOV aggregate endpoint' },
      onclose: () => {
        this.aggregates.delete(id);
        void transport.close().catch(() => {});
        this.opts.onSessionClosed?.(id, AGGREGATE_SERVER);
      },
    });
    const entry: AggregateEntry = {
      session: aggregate,
      transport: new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => id,
        onsessionclosed: () => void this.aggregates.get(id)?.session.close(),
      }),
      init,
      opts,
      local,
    };
    const transport = entry.transport;
    const members = await Promise.all([...this.servers.values()].map((config) => this.openMember(entry, config)));
    for (const member of members) if (member) this.addMember(entry, member.config, member.hub, member.instructions);
    await aggregate.connect(transport);
    this.aggregates.set(id, entry);
    // Removed by a reload while its upstream was starting: it leaves like at any other reload.
    for (const name of aggregate.servers)
      if (!this.servers.has(name)) void aggregate.removeServer(name, removedError(name));
    await transport.handleRequest(req, res, body);
  }

  /**
   * One server of an aggregate session: absent (undefined) when the caller may not use it (local_only for a remote
   * caller, refused by the interceptor), when its upstream cannot start, or when its announcement is refused.
   * Each outcome but the first is audited as the member's `initialize`.
   */
  private async openMember(
    entry: AggregateEntry,
    config: UpstreamServerConfig,
  ): Promise<{ config: UpstreamServerConfig; hub: UpstreamHub; instructions?: string } | undefined> {
    const { session: aggregate, init, opts } = entry;
    if (config.localOnly && !entry.local) return undefined;
    if (!(await this.serverVisible(config, opts, aggregate.id))) return undefined;
    const started = performance.now();
    const record = (decision: 'allow' | 'deny' | 'error', errorMessage?: string) =>
      this.opts.onOperation?.({
        time: new Date(),
        tenant: opts.identity.tenant,
        user: opts.identity.user,
        sessionId: aggregate.id,
        server: config.name,
        method: 'initialize',
        target: init.clientInfo.name,
        decision,
        outcome: decision === 'allow' ? 'ok' : decision === 'deny' ? 'denied' : 'error',
        ...(errorMessage !== undefined ? { errorMessage } : {}),
        durationMs: performance.now() - started,
        requestBytes: 0,
        responseBytes: 0,
        transport: opts.transport ?? 'http',
        endpoint: 'aggregate',
      });
    let hub: UpstreamHub;
    try {
      hub = await this.hubFor(config, opts.identity, init);
    } catch (error) {
      // One server that cannot start must not take the others down: it is absent, logged and audited.
      this.logger.warn(
        `aggregate session ${aggregate.id}: server '${config.name}' unavailable: ${(error as Error).message}`,
      );
      await record('error', (error as Error).message);
      return undefined;
    }
    const checked = await this.checkInitialize(config, hub, opts, aggregate.id, 'initialize');
    if ('deny' in checked) {
      if (hub.sessions.size === 0 && !hub.keepOpen && !config.share) await hub.close();
      await record('deny', checked.deny);
      return undefined;
    }
    await record('allow');
    return { config, hub, instructions: 'instructions' in checked ? checked.instructions : hub.instructions };
  }

  private addMember(
    entry: AggregateEntry,
    config: UpstreamServerConfig,
    hub: UpstreamHub,
    instructions: string | undefined,
  ): void {
    const { session: aggregate, opts } = entry;
    aggregate.addMember(config.name, hub, instructions, (relay) => {
      const session: DownstreamSession = new DownstreamSession(hub, {
        ...this.sessionOptions(aggregate.id, config.name, opts),
        stateless: true,
        relay,
        onclose: () => aggregate.memberClosed(session),
      });
      return session;
    });
  }

  /** A server added at a hot reload joins an open aggregate session (its caller gets list_changed). */
  private async joinAggregate(entry: AggregateEntry, config: UpstreamServerConfig): Promise<void> {
    const member = await this.openMember(entry, config).catch((error: unknown) => {
      this.logger.warn(
        `aggregate session ${entry.session.id}: '${config.name}' cannot join: ${(error as Error).message}`,
      );
      return undefined;
    });
    if (!member) return;
    // The session ended, or the server changed or went, while its upstream was starting.
    if (!this.aggregates.has(entry.session.id) || this.servers.get(config.name) !== config) {
      if (member.hub.sessions.size === 0 && !member.hub.keepOpen && !config.share) await member.hub.close();
      return;
    }
    this.addMember(entry, config, member.hub, member.instructions);
  }

  /**
   * 2026-07-28 at `/mcp`: per request, an aggregate of the caller's servers on their pooled upstreams (as
   * `/mcp/<server>` uses them), served by the SDK's stateless handler (one per tenant, so its listen bus carries
   * that tenant's upstream changes only).
   */
  private async serveModernAggregate(
    request: Request,
    body: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    opts: HandleOptions,
  ): Promise<void> {
    const key = `${AGGREGATE_SERVER}\u0000${opts.identity.tenant}`;
    let handler = this.modernHandlers.get(key);
    if (!handler) {
      handler = createMcpHandler((ctx) => this.modernAggregateServer(ctx), {
        legacy: 'reject',
        onerror: (error) => this.logger.warn(`mcp aggregate (2026-07-28): ${error.message}`),
        maxRequestBodySize: this.opts.maxBodyBytes,
      });
      this.modernHandlers.set(key, handler);
    }
    const notify = handler.notify;
    const id = randomUUID();
    const method = requestMethod(body);
    const local = isLoopback(opts.remoteAddress ?? req.socket.remoteAddress);
    const members: Array<{ config: UpstreamServerConfig; hub: UpstreamHub; instructions?: string }> = [];
    for (const config of this.servers.values()) {
      if (config.localOnly && !local) continue;
      if (!(await this.serverVisible(config, opts, id))) continue;
      let hub: UpstreamHub;
      try {
        hub = await this.pooledHub(config, opts.identity, declaredCapabilities(body));
      } catch (error) {
        this.logger.warn(
          `mcp aggregate (2026-07-28): server '${config.name}' unavailable: ${(error as Error).message}`,
        );
        await this.recordRejected(config.name, opts.identity, method, 502, (error as Error).message, opts.transport);
        continue;
      }
      hub.onAggregateChange = (n) => publishChange(notify, n);
      const checked = await this.checkInitialize(config, hub, opts, id, method);
      if ('deny' in checked) {
        await this.recordRejected(config.name, opts.identity, method, 403, checked.deny, opts.transport);
        continue;
      }
      members.push({ config, hub, instructions: 'instructions' in checked ? checked.instructions : hub.instructions });
    }
    if (method === 'subscriptions/listen') {
      const refused = await this.holdAggregateListen(members, body, res, opts);
      if (refused) return writeJsonRpcError(res, requestId(body), POLICY_DENIED, refused);
    }
    await serveStateless(handler, request, body, res, opts, { id, members });
  }

  /**
   * A 2026-07-28 listen stream at `/mcp` holds its resource subscriptions on the upstream of the server whose
   * resources list the URI (each decided like a resources/subscribe of that server); a URI no server lists, or two
   * list, is refused.
   */
  private async holdAggregateListen(
    members: Array<{ config: UpstreamServerConfig; hub: UpstreamHub }>,
    body: unknown,
    res: ServerResponse,
    opts: HandleOptions,
  ): Promise<string | undefined> {
    const uris = listenSubscriptionUris(body);
    if (uris.length === 0) return undefined;
    const owners = new Map<string, Array<{ config: UpstreamServerConfig; hub: UpstreamHub }>>();
    for (const m of members) {
      if (!m.hub.capabilities.resources) continue;
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const r = (await m.hub.client.request(
          { method: 'resources/list', params: cursor ? { cursor } : {} } as never,
          passthroughResult,
        )) as { resources?: Array<{ uri?: unknown }>; nextCursor?: unknown };
        for (const item of r.resources ?? [])
          if (typeof item.uri === 'string' && uris.includes(item.uri))
            owners.set(item.uri, [...(owners.get(item.uri) ?? []), m]);
        if (typeof r.nextCursor !== 'string' || r.nextCursor === cursor) break;
        cursor = r.nextCursor;
      }
    }
    const held: Array<{ hub: UpstreamHub; uri: string }> = [];
    for (const uri of uris) {
      const found = owners.get(uri) ?? [];
      if (found.length !== 1)
        return found.length === 0
          ? `Resource ${uri} is not listed by any server of the aggregate endpoint; subscribe at /mcp/<server>`
          : `Resource ${uri} is refused on the aggregate endpoint: servers ${found.map((f) => `'${f.config.name}'`).join(' and ')} both list it`;
      const { config, hub } = found[0]!;
      const denied = await this.subscriptionDenied(config.name, uri, opts);
      if (denied !== undefined) return denied;
      held.push({ hub, uri });
    }
    const hubs = [...new Set(held.map((h) => h.hub))];
    for (const hub of hubs) hub.listeners++;
    res.once('close', () => {
      for (const hub of hubs) {
        hub.listeners--;
        hub.lastUsed = Date.now();
      }
      for (const { hub, uri } of held) hub.releaseSubscription(uri);
      for (const hub of hubs) void hub.closeIfUnused();
    });
    for (const { hub, uri } of held) await hub.holdSubscription(uri);
    return undefined;
  }

  private modernAggregateServer(ctx: McpRequestContext): Server {
    const extra = ctx.authInfo?.extra as
      | {
          identity: CallerIdentity;
          transport?: 'http' | 'stdio';
          remoteAddress?: string;
          id: string;
          members: Array<{ config: UpstreamServerConfig; hub: UpstreamHub; instructions?: string }>;
        }
      | undefined;
    if (!extra) throw new Error('no caller identity');
    const transport = extra.transport ?? 'http';
    const aggregate = new AggregateSession({
      id: extra.id,
      identity: extra.identity,
      transport,
      remoteAddress: extra.remoteAddress,
      interceptor: this.opts.interceptor,
      onOperation: this.opts.onOperation,
      logger: this.logger,
      requestTimeoutMs: this.opts.requestTimeoutMs,
      pageSize: this.opts.aggregatePageSize,
      serverInfo: { name: 'atom-gov', version: '0.1.0', title: 'ATOM-GOV aggregate endpoint' },
      stateless: true,
    });
    for (const { config, hub, instructions } of extra.members)
      aggregate.addMember(config.name, hub, instructions, (relay) => {
        const session: DownstreamSession = new DownstreamSession(hub, {
          ...this.sessionOptions(extra.id, config.name, { ...extra, transport }),
          stateless: true,
          inputBridge: this.inputBridge,
          relay,
          onclose: () => aggregate.memberClosed(session),
        });
        return session;
      });
    return aggregate.createServer();
  }

  private async serverVisible(config: UpstreamServerConfig, opts: HandleOptions, sessionId: string): Promise<boolean> {
    const interceptor = this.opts.interceptor;
    if (!interceptor?.serverVisible) return true;
    return await interceptor.serverVisible({
      tenant: opts.identity.tenant,
      user: opts.identity.user,
      roles: opts.identity.roles,
      sessionId,
      server: config.name,
      method: 'initialize',
      transport: opts.transport ?? 'http',
      remoteAddress: opts.remoteAddress,
    });
  }

  /** Answers a request that failed before (or outside) a session with its HTTP/JSON-RPC error, audited. */
  private async fail(
    serverName: string,
    error: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    opts: HandleOptions,
  ): Promise<void> {
    if (res.headersSent) {
      this.logger.warn(`mcp ${serverName}: ${(error as Error).message}`);
      if (!res.writableEnded) res.end();
      return;
    }
    const e =
      error instanceof HttpError ? error : new HttpError(500, -32603, `Internal error: ${(error as Error).message}`);
    if (!(error instanceof HttpError)) this.logger.error(`mcp ${serverName}: ${(error as Error).stack ?? error}`);
    // Rejected requests are audited too, before the answer leaves.
    try {
      await this.recordRejected(
        serverName,
        opts.identity,
        `http ${req.method ?? '?'}`,
        e.status,
        e.message,
        opts.transport,
      );
    } catch (auditError) {
      this.logger.error(`audit write failed: ${(auditError as Error).message}`);
    }
    res.writeHead(e.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: e.code, message: e.message }, id: e.id }));
  }

  /** Records a request answered with an HTTP error before reaching a session (auth, unknown server/session...). */
  async recordRejected(
    server: string,
    identity: CallerIdentity,
    method: string,
    status: number,
    message: string,
    transport: 'http' | 'stdio' = 'http',
  ): Promise<void> {
    await this.opts.onOperation?.({
      time: new Date(),
      tenant: identity.tenant,
      user: identity.user,
      server,
      method,
      decision: status === 401 || status === 403 || status === 404 ? 'deny' : 'error',
      outcome: status === 401 || status === 403 || status === 404 ? 'denied' : 'error',
      errorMessage: `HTTP ${status}: ${message}`,
      durationMs: 0,
      requestBytes: 0,
      responseBytes: 0,
      transport,
    });
  }

  private checkHostAndOrigin(req: IncomingMessage): void {
    if (this.opts.allowedHosts && this.opts.allowedHosts.length > 0) {
      const host = validateHostHeader(header(req, 'host'), [...this.opts.allowedHosts]);
      if (!host.ok) throw new HttpError(403, -32000, `Forbidden: ${host.message}`);
    }
    const origin = header(req, 'origin');
    if (origin !== undefined) {
      const allowed = this.opts.allowedOrigins?.length
        ? this.opts.allowedOrigins.map((o) => (o.includes('://') ? new URL(o).hostname : o))
        : localhostAllowedOrigins();
      const result = validateOriginHeader(origin, allowed);
      if (!result.ok) throw new HttpError(403, -32000, `Forbidden: ${result.message}`);
    }
  }

  /** 2026-07-28: no session; the SDK entry validates the envelope and headers, our factory forwards. */
  private async serveModern(
    config: UpstreamServerConfig,
    request: Request,
    body: unknown,
    res: ServerResponse,
    opts: HandleOptions,
  ): Promise<void> {
    // One handler per server and tenant: its subscriptions/listen bus carries that tenant's upstream changes only.
    const key = `${config.name}\u0000${opts.identity.tenant}`;
    let handler = this.modernHandlers.get(key);
    if (!handler) {
      handler = createMcpHandler((ctx) => this.modernServer(config, ctx), {
        legacy: 'reject',
        onerror: (error) => this.logger.warn(`mcp ${config.name} (2026-07-28): ${error.message}`),
        maxRequestBodySize: this.opts.maxBodyBytes,
      });
      this.modernHandlers.set(key, handler);
    }
    const hub = await this.pooledHub(config, opts.identity, declaredCapabilities(body));
    const notify = handler.notify;
    hub.onChange = (n) => publishChange(notify, n);
    const method = requestMethod(body);
    const checked = await this.checkInitialize(config, hub, opts, randomUUID(), method);
    if ('deny' in checked) {
      await this.recordRejected(config.name, opts.identity, method, 403, checked.deny, opts.transport);
      return writeJsonRpcError(res, requestId(body), POLICY_DENIED, checked.deny);
    }
    if (method === 'subscriptions/listen') {
      const refused = await this.holdListen(config, hub, body, res, opts);
      if (refused) return writeJsonRpcError(res, requestId(body), POLICY_DENIED, refused);
    }
    await serveStateless(handler, request, body, res, opts, { hub, checked });
  }

  /**
   * A listen stream's resource subscriptions become upstream subscriptions on the pooled hub (each URI decided by
   * the interceptor like a resources/subscribe), held until the stream ends; the hub stays open meanwhile.
   * Returns the denial message when one URI is refused.
   */
  private async holdListen(
    config: UpstreamServerConfig,
    hub: UpstreamHub,
    body: unknown,
    res: ServerResponse,
    opts: HandleOptions,
  ): Promise<string | undefined> {
    const uris = listenSubscriptionUris(body);
    for (const uri of uris) {
      const denied = await this.subscriptionDenied(config.name, uri, opts);
      if (denied !== undefined) return denied;
    }
    const held: string[] = [];
    hub.listeners++;
    res.once('close', () => {
      hub.listeners--;
      hub.lastUsed = Date.now();
      for (const uri of held) hub.releaseSubscription(uri);
      // A hub retired at a reload closes with its last listen stream.
      void hub.closeIfUnused();
    });
    for (const uri of uris) {
      await hub.holdSubscription(uri);
      held.push(uri);
    }
    return undefined;
  }

  /** A listen stream's resource subscription is decided like a resources/subscribe of that server: the denial. */
  private async subscriptionDenied(server: string, uri: string, opts: HandleOptions): Promise<string | undefined> {
    const ctx: InterceptContext = {
      tenant: opts.identity.tenant,
      user: opts.identity.user,
      roles: opts.identity.roles,
      sessionId: randomUUID(),
      server,
      method: 'resources/subscribe',
      name: uri,
      args: { uri },
      transport: opts.transport ?? 'http',
      remoteAddress: opts.remoteAddress,
    };
    const decision = await this.opts.interceptor?.beforeRequest(ctx, {
      method: 'resources/subscribe',
      params: { uri },
    });
    return decision?.kind === 'deny' ? decision.message : undefined;
  }

  /** What every session of one server shares: the caller, and the gateway's interceptor, audit sink and limits. */
  private sessionOptions(
    id: string,
    server: string,
    caller: { identity: CallerIdentity; transport?: 'http' | 'stdio'; remoteAddress?: string },
  ): SessionOptions {
    return {
      id,
      identity: caller.identity,
      server,
      transport: caller.transport ?? 'http',
      remoteAddress: caller.remoteAddress,
      interceptor: this.opts.interceptor,
      onOperation: this.opts.onOperation,
      logger: this.logger,
      requestTimeoutMs: this.opts.requestTimeoutMs,
    };
  }

  private async modernServer(config: UpstreamServerConfig, ctx: McpRequestContext): Promise<Server> {
    const extra = ctx.authInfo?.extra as
      | {
          identity: CallerIdentity;
          transport?: 'http' | 'stdio';
          remoteAddress?: string;
          hub: UpstreamHub;
          checked: { instructions?: string };
        }
      | undefined;
    if (!extra) throw new Error('no caller identity');
    const session = new DownstreamSession(extra.hub, {
      ...this.sessionOptions(randomUUID(), config.name, extra),
      stateless: true,
      inputBridge: this.inputBridge,
      ...('instructions' in extra.checked ? { instructions: extra.checked.instructions } : {}),
    });
    return session.server;
  }

  /**
   * 2026-07-28 requests share one upstream per server, tenant and declared client capabilities (no session to own
   * one). The upstream sees the sampling, elicitation and roots capabilities the caller declared on the request, as
   * a 2025 session's upstream sees them at initialize (servers offer tools by them); the upstream's requests are
   * then answered through input_required rounds. Such an upstream is also per user: a stdio upstream's request
   * does not say which call it belongs to (the newest in flight gets it), so it must never reach another user.
   */
  private async pooledHub(
    config: UpstreamServerConfig,
    identity: CallerIdentity,
    capabilities: ClientCapabilities,
  ): Promise<UpstreamHub> {
    const declared = Object.keys(capabilities).sort().join(',');
    const key = `${config.name}\u0000${identity.tenant}\u0000${declared}${declared ? `\u0000${identity.user}` : ''}`;
    let pending = this.pooledHubs.get(key);
    let hub = pending ? await pending.catch(() => undefined) : undefined;
    if (!hub || hub.isClosed) {
      pending = this.openHub(config, { clientInfo: { name: 'atom-gov', version: '0.1.0' }, capabilities }).then((h) => {
        h.keepOpen = true;
        return h;
      });
      this.pooledHubs.set(key, pending);
      pending.catch(() => this.pooledHubs.delete(key));
      hub = await pending;
    }
    return hub;
  }

  private async openSession(
    config: UpstreamServerConfig,
    init: { id: string | number; clientInfo: Implementation; capabilities: ClientCapabilities },
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    opts: HandleOptions,
  ): Promise<void> {
    const id = randomUUID();
    const started = performance.now();
    let hub: UpstreamHub;
    try {
      hub = await this.hubFor(config, opts.identity, init);
    } catch (error) {
      await this.opts.onOperation?.({
        time: new Date(),
        tenant: opts.identity.tenant,
        user: opts.identity.user,
        sessionId: id,
        server: config.name,
        method: 'initialize',
        decision: 'error',
        outcome: 'error',
        errorMessage: (error as Error).message,
        durationMs: performance.now() - started,
        requestBytes: 0,
        responseBytes: 0,
        transport: opts.transport ?? 'http',
      });
      if (error instanceof HttpError) throw error;
      throw new HttpError(502, -32603, (error as Error).message, init.id);
    }
    const checked = await this.checkInitialize(config, hub, opts, id, 'initialize');
    if ('deny' in checked) {
      if (hub.sessions.size === 0 && !hub.keepOpen && !config.share) await hub.close();
      await this.opts.onOperation?.({
        time: new Date(),
        tenant: opts.identity.tenant,
        user: opts.identity.user,
        sessionId: id,
        server: config.name,
        method: 'initialize',
        target: init.clientInfo.name,
        decision: 'deny',
        outcome: 'denied',
        errorMessage: checked.deny,
        durationMs: performance.now() - started,
        requestBytes: JSON.stringify(body).length,
        responseBytes: 0,
        transport: opts.transport ?? 'http',
      });
      return writeJsonRpcError(res, init.id, POLICY_DENIED, checked.deny);
    }
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessionclosed: () => void this.sessions.get(id)?.session.close(),
    });
    const session = new DownstreamSession(hub, {
      ...this.sessionOptions(id, config.name, opts),
      ...('instructions' in checked ? { instructions: checked.instructions } : {}),
      onclose: () => {
        this.sessions.delete(id);
        void transport.close().catch(() => {});
        this.opts.onSessionClosed?.(id, config.name);
      },
    });
    await session.connect(transport);
    this.sessions.set(id, { session, transport });
    // Removed by a reload while its upstream was starting: it ends like the server's other sessions.
    if (this.servers.get(config.name) === undefined) void session.end(removedError(config.name));
    await this.opts.onOperation?.({
      time: new Date(),
      tenant: opts.identity.tenant,
      user: opts.identity.user,
      sessionId: id,
      server: config.name,
      method: 'initialize',
      target: init.clientInfo.name,
      decision: 'allow',
      outcome: 'ok',
      durationMs: performance.now() - started,
      requestBytes: JSON.stringify(body).length,
      responseBytes: 0,
      transport: opts.transport ?? 'http',
    });
    await transport.handleRequest(req, res, body);
  }

  /** The interceptor's look at what the upstream announced (pinning checks instructions); keeps them by default. */
  private async checkInitialize(
    config: UpstreamServerConfig,
    hub: UpstreamHub,
    opts: HandleOptions,
    sessionId: string,
    method: string,
  ): Promise<InitializeDecision> {
    const filter = this.opts.interceptor?.filterInitialize;
    if (!filter) return {};
    const ctx: InterceptContext = {
      tenant: opts.identity.tenant,
      user: opts.identity.user,
      roles: opts.identity.roles,
      sessionId,
      server: config.name,
      method,
      transport: opts.transport ?? 'http',
      remoteAddress: opts.remoteAddress,
    };
    return await filter.call(this.opts.interceptor, ctx, {
      serverInfo: hub.serverInfo,
      instructions: hub.instructions,
      capabilities: hub.capabilities,
    });
  }

  private async hubFor(
    config: UpstreamServerConfig,
    identity: CallerIdentity,
    init: { clientInfo: Implementation; capabilities: ClientCapabilities },
  ): Promise<UpstreamHub> {
    if (config.share) {
      const key = `${config.name}\u0000${identity.tenant}`;
      let pending = this.sharedHubs.get(key);
      if (pending) {
        const hub = await pending.catch(() => undefined);
        if (hub && !hub.isClosed) return hub;
      }
      pending = this.openHub(config, init);
      this.sharedHubs.set(key, pending);
      pending.then(
        (hub) => {
          const onclose = hub.onclose;
          hub.onclose = () => {
            onclose?.();
            if (this.sharedHubs.get(key) === pending) this.sharedHubs.delete(key);
          };
        },
        () => this.sharedHubs.delete(key),
      );
      return pending;
    }
    return this.openHub(config, init);
  }

  private async openHub(
    config: UpstreamServerConfig,
    init: { clientInfo: Implementation; capabilities: ClientCapabilities },
  ): Promise<UpstreamHub> {
    const count = this.upstreamCount.get(config.name) ?? 0;
    const max = this.opts.maxUpstreamsPerServer ?? 64;
    if (count >= max)
      throw new HttpError(
        503,
        -32000,
        `Too many upstream connections for '${config.name}' (limit ${max}); close idle sessions or raise the limit`,
      );
    this.upstreamCount.set(config.name, count + 1);
    const launched = config.launch ? this.launcher(config) : undefined;
    if (launched) this.launchedUsers.set(launched, (this.launchedUsers.get(launched) ?? 0) + 1);
    const released = () => {
      this.upstreamCount.set(config.name, (this.upstreamCount.get(config.name) ?? 1) - 1);
      if (!launched) return;
      const users = (this.launchedUsers.get(launched) ?? 1) - 1;
      this.launchedUsers.set(launched, users);
      if (users === 0 && this.retiredLaunches.has(launched)) void this.stopRetired(launched);
    };
    try {
      const url = launched ? await launched.url() : undefined;
      const hub = await UpstreamHub.open({
        server: config,
        url,
        clientInfo: init.clientInfo,
        capabilities: init.capabilities,
        logger: this.logger,
      });
      const onclose = hub.onclose;
      hub.onclose = () => {
        onclose?.();
        released();
      };
      return hub;
    } catch (error) {
      released();
      throw error;
    }
  }

  private launcher(config: UpstreamServerConfig): LaunchedServer {
    let l = this.launched.get(config.name);
    if (!l) {
      if (!config.launch || !config.url) throw new Error(`server '${config.name}': launch needs a url`);
      l = new LaunchedServer({
        name: config.name,
        launch: config.launch,
        url: config.url,
        logger: this.logger,
        createDirs: config.createDirs,
      });
      this.launched.set(config.name, l);
    }
    return l;
  }

  private async body(req: IncomingMessage, opts: HandleOptions): Promise<unknown> {
    if (opts.parsedBody !== undefined) return opts.parsedBody;
    const limit = this.opts.maxBodyBytes ?? 4 * 1024 * 1024;
    // Plain stream events rather than an async iterator: this runs for every request.
    const text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.removeAllListeners('data');
          req.resume();
          reject(new HttpError(413, -32600, `Request body exceeds ${limit} bytes`));
        } else chunks.push(chunk);
      });
      req.once('end', () =>
        resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
      );
      req.once('error', reject);
    });
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, -32700, `Parse error: ${(error as Error).message}`);
    }
  }

  private reap(idleMs: number): void {
    const now = Date.now();
    for (const [key, pending] of this.pooledHubs) {
      void pending.then(
        (hub) => {
          if (hub.sessions.size === 0 && hub.listeners === 0 && now - hub.lastUsed > idleMs) {
            this.pooledHubs.delete(key);
            void hub.close();
          }
        },
        () => {},
      );
    }
    for (const { session } of this.aggregates.values())
      if (!session.busy && now - session.lastActivity > idleMs) void session.close();
    for (const { session } of this.sessions.values()) {
      if (!session.busy && now - session.lastActivity > idleMs) {
        this.logger.info(`closing idle session ${session.id}`, { server: session.hub.name });
        void session.close();
      }
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.reaper);
    this.inputBridge.cancelAll(new ProtocolError(-32000, 'Connection closed: the gateway is shutting down'));
    await Promise.all([...this.sessions.values()].map(({ session }) => session.close()));
    await Promise.all([...this.aggregates.values()].map(({ session }) => session.close()));
    await Promise.all([...this.modernHandlers.values()].map((h) => h.close().catch(() => {})));
    await Promise.all(
      [...this.sharedHubs.values(), ...this.pooledHubs.values()].map((p) => p.then((h) => h.close()).catch(() => {})),
    );
    await Promise.all([...this.launched.values(), ...this.retiredLaunches].map((l) => l.stop()));
  }
}

/**
 * A 2026-07-28 request served by the SDK's stateless handler: the caller's identity (and what the server factory
 * needs, in `extra`) travels as authInfo; the answer (JSON or an SSE stream) is piped to the Node response.
 */
async function serveStateless(
  handler: McpHttpHandler,
  request: Request,
  body: unknown,
  res: ServerResponse,
  opts: HandleOptions,
  extra: Record<string, unknown>,
): Promise<void> {
  const authInfo = {
    token: '',
    clientId: opts.identity.user,
    scopes: [],
    extra: { identity: opts.identity, transport: opts.transport, remoteAddress: opts.remoteAddress, ...extra },
  };
  const response = await handler.fetch(request, { authInfo, parsedBody: body });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) return void res.end();
  Readable.fromWeb(response.body as import('node:stream/web').ReadableStream).pipe(res);
}

/** The resource URIs a 2026-07-28 `subscriptions/listen` request asks to follow. */
function listenSubscriptionUris(body: unknown): string[] {
  const filter = (body as { params?: { notifications?: { resourceSubscriptions?: unknown } } }).params?.notifications;
  return Array.isArray(filter?.resourceSubscriptions)
    ? filter.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
    : [];
}

/**
 * A POST without a session that is not an initialize: a 2026-07-28 stateless request (as a web Request aborted
 * when the caller goes away), or a 2025 request that lost its session, which is refused.
 */
async function statelessRequest(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<Request> {
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  const webRequest = await toWebRequest(req, body, { signal: abort.signal });
  if (await isLegacyRequest(webRequest, body))
    throw new HttpError(
      400,
      -32000,
      'Bad Request: no valid session ID provided; open a session with an initialize request',
    );
  return webRequest;
}

function removedError(name: string): ProtocolError {
  return new ProtocolError(
    SERVER_REMOVED,
    `MCP server '${name}' was removed from the gateway configuration; this session has ended`,
  );
}

/** The part of a server definition its running upstream was started from. */
function upstreamKey(d: UpstreamServerConfig): string {
  return JSON.stringify([
    d.transport,
    d.command,
    d.args,
    d.env,
    d.cwd,
    d.url,
    d.headers,
    d.launch,
    d.share,
    d.createDirs,
  ]);
}

const LEGACY_VERSIONS = new Set(['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']);

/** Headers the SDK transport would accept without comment; anything else goes to it for the precise error. */
function fastHeaders(req: IncomingMessage): boolean {
  const accept = header(req, 'accept') ?? '';
  const type = header(req, 'content-type') ?? '';
  const version = header(req, 'mcp-protocol-version');
  return (
    accept.includes('application/json') &&
    accept.includes('text/event-stream') &&
    type.includes('application/json') &&
    (version === undefined || LEGACY_VERSIONS.has(version))
  );
}

/** An upstream change, published on the listen bus of the tenant's handler. */
function publishChange(notify: McpHttpHandler['notify'], n: { method: string; params?: unknown }): void {
  if (n.method === 'notifications/tools/list_changed') notify.toolsChanged();
  else if (n.method === 'notifications/prompts/list_changed') notify.promptsChanged();
  else if (n.method === 'notifications/resources/list_changed') notify.resourcesChanged();
  else if (n.method === 'notifications/resources/updated') {
    const uri = (n.params as { uri?: unknown } | undefined)?.uri;
    if (typeof uri === 'string') notify.resourceUpdated(uri);
  }
}

/** The sampling, elicitation and roots capabilities a 2026-07-28 request declares in its envelope. */
function declaredCapabilities(body: unknown): ClientCapabilities {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  const declared = meta?.[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = {};
  if (declared && typeof declared === 'object')
    for (const k of ['sampling', 'elicitation', 'roots'])
      if (declared[k] && typeof declared[k] === 'object') out[k] = declared[k];
  return out as ClientCapabilities;
}

function requestMethod(body: unknown): string {
  const m = (body as { method?: unknown } | null)?.method;
  return typeof m === 'string' ? m : 'unknown';
}

function requestId(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function writeJsonRpcError(res: ServerResponse, id: string | number | null, code: number, message: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }));
}

function isLoopback(address: string | undefined): boolean {
  return (
    address === '127.0.0.1' ||
    address === '::1' ||
    address === '::ffff:127.0.0.1' ||
    address?.startsWith('127.') === true
  );
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sameCaller(a: CallerIdentity, b: CallerIdentity): boolean {
  return a.tenant === b.tenant && a.user === b.user;
}

/** The initialize request, validated by the SDK's own schema before any upstream is started for it. */
function asInitialize(
  body: unknown,
): { id: string | number; clientInfo: Implementation; capabilities: ClientCapabilities } | undefined {
  const msg = Array.isArray(body) && body.length === 1 ? body[0] : body;
  if (!isInitializeRequest(msg)) {
    const m = msg as { method?: unknown; id?: unknown } | null;
    if (typeof m === 'object' && m !== null && m.method === 'initialize') {
      const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : null;
      throw new HttpError(
        400,
        -32602,
        'Invalid initialize request: expected params { protocolVersion, capabilities, clientInfo: { name, version } }',
        id,
      );
    }
    return undefined;
  }
  const id = (msg as { id?: unknown }).id;
  if (typeof id !== 'string' && typeof id !== 'number')
    throw new HttpError(400, -32600, 'Invalid Request: initialize needs an id');
  return { id, clientInfo: msg.params.clientInfo, capabilities: msg.params.capabilities };
}
