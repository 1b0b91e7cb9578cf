// The gateway's libs/mcp Interceptor: policy decision, rate limits, PII scanning and the audit level for every
// forwarded request. One decision governs listing and calling (engine.visible / engine.decide). The common path
// stays synchronous; only rate-limit checks (counter store) and governed runs await.
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { RateLimitService } from '@atom-gov/limits';
import {
  ALLOW,
  type AggregateCollision,
  type Decision,
  type Forward,
  type ForwardedRequest,
  type InitializeDecision,
  type InitializeInfo,
  type InterceptContext,
  type Interceptor,
  type ListKind,
  type McpResult,
  type OperationAnnotations,
} from '@atom-gov/mcp';
import { AlertNotifier, type AlertKind } from '@atom-gov/notify';
import type { NotificationTarget } from '@atom-gov/config';
import { createPinningService, type PinBlockedEvent, type PinningService } from '@atom-gov/pinning';
import { createPiiScanner, type PiiScanner, type PiiSummary } from '@atom-gov/pii';
import { denialMessage, isLocalCaller, type Decision as PolicyDecision } from '@atom-gov/policy';
import { GOVERNANCE_OPTIONS, type GovernanceOptions } from './governance.options.js';
import { GOV_METRICS, type GovMetrics } from './governance-metrics.js';
import { metricLabel } from '@atom-gov/metrics';
import { PolicyHolder, type PolicyGeneration } from './policy-holder.service.js';
import { auditText, type AuditLevel } from './audit-summary.js';

/** Methods that are policy operations (session plumbing and listings are not: see libs/policy README). */
const OPERATIONS = new Set(['tools/call', 'resources/read', 'prompts/get']);

/** JSON-RPC "invalid params": what the MCP SDK answers for an unknown prompt or resource. */
const INVALID_PARAMS = -32602;

/** Carries the governed path (approval / quota workflow); provided by the Temporal integration when present. */
export const GOVERNED_RUNNER = Symbol('GOVERNED_RUNNER');

export interface GovernedRunner {
  /** Runs the call durably and calls `forward` once it may go ahead; resolves with the result to return. */
  run(
    ctx: InterceptContext,
    decision: PolicyDecision,
    params: Record<string, unknown> | undefined,
    forward: Forward,
    signal: AbortSignal,
  ): Promise<McpResult>;
  /** The operation id this call will run under (deterministic), for the gateway's audit record. */
  operationId?(ctx: InterceptContext, decision: PolicyDecision, params: Record<string, unknown> | undefined): string;
}

interface CallState {
  gen: PolicyGeneration;
  d?: PolicyDecision;
  scanner?: PiiScanner;
}

@Injectable()
export class GovernanceInterceptor implements Interceptor, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Governance');
  private limits!: RateLimitService;
  /** One scanner per distinct option set (creating one compiles its patterns). */
  private readonly scanners = new Map<string, PiiScanner>();
  /** The same, by the (frozen, cached) obligation object of a decision: no key string per call. */
  private readonly scannerByOptions = new WeakMap<object, PiiScanner>();
  private auditScanner: PiiScanner | undefined;
  /** Audit redaction for the kinds a call's own redacting scanner did not cover, by that scanner's kinds. */
  private readonly auditRemainder = new Map<string, PiiScanner | null>();
  /** The full-audit redactor that goes with a call's redacting scanner (null: it covers every kind). */
  private readonly auditRedactors = new WeakMap<PiiScanner, ((v: unknown) => unknown) | null>();
  private fullAuditRedactor: ((v: unknown) => unknown) | undefined;
  private readonly calls = new WeakMap<InterceptContext, CallState>();
  /** Tool pinning (rug-pull defence): listings drop changed/new definitions, their calls are refused. */
  private readonly pins: PinningService;
  /** Alerts to the policies' notification targets: async, deduplicated per window, never failing a call. */
  readonly alerts: AlertNotifier;

  constructor(
    @Inject(PolicyHolder) private readonly holder: PolicyHolder,
    @Inject(GOVERNANCE_OPTIONS) private readonly options: GovernanceOptions,
    @Inject(GOV_METRICS) private readonly metrics: GovMetrics,
    @Optional() @Inject(GOVERNED_RUNNER) private readonly governed?: GovernedRunner,
  ) {
    const { pinning } = options.config;
    this.alerts =
      options.alerts ??
      new AlertNotifier({
        notifications: options.config.notifications,
        log: (line) => this.logger.warn(line),
      });
    this.pins = createPinningService({
      lockPath: pinning.lockFile,
      mode: pinning.mode,
      // Alerting only: a throw here would fail the listing, and the item is already hidden (fail closed).
      onBlocked: (e) => {
        if (e.recorded) this.pinAlert(e);
      },
    });
  }

  /** One RateLimitService for the process: Redis (shared by every gateway process) when redis.url is set. */
  async onModuleInit(): Promise<void> {
    const redisUrl = this.options.config.redis.url;
    this.limits = await RateLimitService.create({
      redisUrl,
      onStoreError: (e) => this.logger.error(`rate-limit store: ${e.message}`),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.limits?.close();
    await this.alerts.close();
  }

  get rateLimitBackend(): 'memory' | 'redis' | undefined {
    return this.limits?.backend;
  }

  /**
   * Pinned server instructions (rug-pull defence): changed or new instructions are withheld from the caller (the
   * session still works; each tool is pinned on its own), alerted once and audited per session, until an operator
   * runs `atom-gov tools approve --kind instructions`.
   */
  filterInitialize(ctx: InterceptContext, info: InitializeInfo): InitializeDecision | Promise<InitializeDecision> {
    if (this.pins.mode === 'off') return {};
    return this.pins.checkInstructions(ctx.server, info.instructions).then((r) => {
      if (r.ok) return {};
      this.logger.warn(`tool pinning: ${r.message}`);
      const audit = this.options.audit;
      if (audit && this.options.config.global.audit) {
        audit
          .append({
            time: new Date(),
            tenant: ctx.tenant,
            user: ctx.user,
            sessionId: ctx.sessionId,
            server: ctx.server,
            method: ctx.method,
            target: 'instructions',
            decision: 'deny',
            policy: 'tool-pinning',
            rules: ['tool-pinning'],
            configVersion: this.holder.current.config.version,
            outcome: 'denied',
            errorMessage: `instructions withheld: ${r.message}`,
            notes: ['instructions withheld by pinning'],
            durationMs: 0,
            requestBytes: 0,
            responseBytes: 0,
          })
          .catch((e: Error) => this.logger.error(`audit of withheld instructions failed: ${e.message}`));
      }
      return { instructions: undefined };
    });
  }

  filterList<T extends { name?: string; uri?: string; uriTemplate?: string }>(
    ctx: InterceptContext,
    kind: ListKind,
    items: T[],
  ): T[] | Promise<T[]> {
    if (this.pins.mode === 'off') return this.visibleItems(ctx, kind, items);
    // Pins see the whole upstream list (a role that sees more must not find "new" tools), then visibility filters.
    return this.pins
      .filterList(ctx.server, kind, items, { cursor: ctx.args?.cursor })
      .then((r) => this.visibleItems(ctx, kind, r.items.length === items.length ? items : r.items));
  }

  private visibleItems<T extends { name?: string; uri?: string; uriTemplate?: string }>(
    ctx: InterceptContext,
    kind: ListKind,
    items: T[],
  ): T[] {
    const gen = this.calls.get(ctx)?.gen ?? this.holder.current;
    const vctx = {
      tenant: ctx.tenant,
      user: ctx.user,
      roles: ctx.roles,
      server: ctx.server,
      transport: ctx.transport,
      local: isLocalCaller(ctx.transport, ctx.remoteAddress),
      time: new Date(),
    };
    const out = items.filter((item) => {
      const name = kind === 'resourceTemplates' ? item.uriTemplate : kind === 'resources' ? item.uri : item.name;
      return name === undefined || gen.engine.visible(vctx, kind, name);
    });
    return out.length === items.length ? items : out;
  }

  beforeRequest(ctx: InterceptContext, request: ForwardedRequest): Decision | Promise<Decision> {
    const gen = this.holder.current;
    const state: CallState = { gen };
    this.calls.set(ctx, state);
    const annotations: OperationAnnotations = { configVersion: gen.config.version };
    ctx.annotations = annotations;
    if (!OPERATIONS.has(request.method)) return ALLOW;

    const d = gen.engine.decide({
      tenant: ctx.tenant,
      user: ctx.user,
      roles: ctx.roles,
      server: ctx.server,
      method: request.method,
      name: ctx.name,
      args: ctx.args,
      resourceUris: request.method === 'resources/read' && ctx.name ? [ctx.name] : undefined,
      transport: ctx.transport,
      local: isLocalCaller(ctx.transport, ctx.remoteAddress),
      time: new Date(),
    });
    state.d = d;
    annotations.configVersion = d.configVersion;
    annotations.auditLevel = d.obligations.auditLevel;
    for (const w of d.wouldDeny) {
      this.metrics.wouldDeny.inc({ tenant: ctx.tenant, server: ctx.server, tool: toolLabel(ctx), policy: w.rule });
      this.note(ctx, `would deny (${w.enforcement}) by policy ${w.rule}: ${w.reason}`);
      this.alert(ctx, d, 'would_deny', `would deny (${w.enforcement}): ${w.reason}`, w.rule);
    }
    if (d.effect === 'deny') {
      this.decided(ctx, 'deny');
      return this.denial(ctx, request, d);
    }
    if (d.obligations.pinCheck && ctx.name !== undefined) {
      const kind =
        request.method === 'tools/call' ? 'tools' : request.method === 'prompts/get' ? 'prompts' : 'resources';
      const pin = this.pins.checkCall(ctx.server, kind, ctx.name);
      if (!pin.ok) {
        this.decided(ctx, 'deny');
        return { kind: 'deny', message: pin.message, policy: 'tool-pinning', rules: ['tool-pinning'] };
      }
    }
    const limits = d.obligations.rateLimits;
    if (limits.length > 0) return this.checkLimits(ctx, request, state, d);
    return this.afterChecks(ctx, request, state, d);
  }

  afterResult(ctx: InterceptContext, request: ForwardedRequest, result: McpResult): McpResult {
    const state = this.calls.get(ctx);
    const d = state?.d;
    if (!state || !d) return result;
    let out = result;
    if (state.scanner) {
      // A value the scanner refuses to judge throws PiiScanError: the call fails (fail closed).
      const o = state.scanner.apply(result);
      if (o.summary.found) {
        this.piiFound(ctx, o.summary, 'result', o.action);
        this.note(ctx, `pii in result: ${describePii(o.summary)} (${o.action})`);
        if (d.obligations.pii?.alertOnPii)
          this.alert(
            ctx,
            d,
            'pii',
            `PII in the result: ${describePii(o.summary)} (${o.action})`,
            d.obligations.pii.rules[0],
          );
        if (o.blocked) {
          const message = `Denied by policy ${d.obligations.pii?.rules.join(', ')}: the result contains PII (${describePii(o.summary)})`;
          if (request.method === 'tools/call') return { content: [{ type: 'text', text: message }], isError: true };
          throw new Error(message);
        }
        out = o.value as McpResult;
      }
    }
    const level = d.obligations.auditLevel;
    if (level !== 'none') {
      const text = auditText(level, out, this.redactForAudit(level, state.scanner, d.obligations.pii?.scanner.action));
      if (text !== undefined) ctx.annotations!.resultSummary = text;
    }
    return out;
  }

  private denial(ctx: InterceptContext, request: ForwardedRequest, d: PolicyDecision): Decision {
    const base = { policy: d.policy, rules: d.rules };
    if (d.hidden) {
      // Exactly what the MCP SDK answers for a name that does not exist: hidden tools must not be discoverable.
      const name = ctx.name ?? '';
      if (request.method === 'tools/call')
        return { kind: 'deny', message: `MCP error -32602: Tool ${name} not found`, ...base };
      const what = request.method === 'prompts/get' ? 'Prompt' : 'Resource';
      return { kind: 'deny', message: `${what} ${name} not found`, code: INVALID_PARAMS, ...base };
    }
    return { kind: 'deny', message: denialMessage(d), ...base };
  }

  private async checkLimits(
    ctx: InterceptContext,
    request: ForwardedRequest,
    state: CallState,
    d: PolicyDecision,
  ): Promise<Decision> {
    const key = { tenant: ctx.tenant, user: ctx.user, server: ctx.server, tool: ctx.name };
    for (const o of d.obligations.rateLimits) {
      const r = await this.limits.check(o.spec, key);
      if (!r.allowed) {
        this.limitHit(ctx, o.rule, 'hard');
        this.decided(ctx, 'deny');
        if (o.alertOnLimit)
          this.alert(ctx, d, 'rate_limit', `call denied: ${r.message ?? 'rate limit exceeded'}`, o.rule);
        const message = denialMessage(d, { obligation: o, message: r.message ?? 'rate limit exceeded' });
        return { kind: 'deny', message, policy: o.rule, rules: [o.rule] };
      }
      if (r.limitHit) {
        this.limitHit(ctx, o.rule, r.enforcement);
        this.metrics.wouldDeny.inc({ tenant: ctx.tenant, server: ctx.server, tool: toolLabel(ctx), policy: o.rule });
        this.note(ctx, `would deny (${r.enforcement}) by policy ${o.rule}: ${r.message}`);
        if (o.alertOnLimit)
          this.alert(ctx, d, 'rate_limit', `limit exceeded (${r.enforcement}, allowed): ${r.message}`, o.rule);
      }
    }
    return this.afterChecks(ctx, request, state, d);
  }

  private afterChecks(ctx: InterceptContext, request: ForwardedRequest, state: CallState, d: PolicyDecision): Decision {
    const base = { policy: d.policy, rules: d.rules };
    let params = request.params;
    const pii = d.obligations.pii;
    if (pii) state.scanner = this.scanner(pii.scanner);
    // Arguments of tools and prompts are scanned before they leave; a resource URI is an address, not content.
    if (state.scanner && request.method !== 'resources/read' && params?.arguments !== undefined) {
      const o = state.scanner.apply(params.arguments);
      if (o.summary.found) {
        this.piiFound(ctx, o.summary, 'arguments', o.action);
        this.note(ctx, `pii in arguments: ${describePii(o.summary)} (${o.action})`);
        if (pii?.alertOnPii)
          this.alert(ctx, d, 'pii', `PII in the arguments: ${describePii(o.summary)} (${o.action})`, pii.rules[0]);
        if (o.blocked) {
          this.decided(ctx, 'deny');
          const message = `Denied by policy ${pii?.rules.join(', ')}: the arguments contain PII (${describePii(o.summary)}); remove it and call again`;
          return { kind: 'deny', message, ...base };
        }
        if (o.value !== params.arguments) params = { ...params, arguments: o.value };
      }
    }
    const level = d.obligations.auditLevel;
    if (level !== 'none') {
      const args = params?.arguments ?? (request.method === 'resources/read' ? undefined : params);
      const text = auditText(level, args, this.redactForAudit(level, state.scanner, pii?.scanner.action));
      if (text !== undefined) ctx.annotations!.argsSummary = text;
    }
    if (d.effect === 'governed') return this.governedDecision(ctx, d, params);
    this.decided(ctx, 'allow');
    if (params !== request.params) return { kind: 'transform', params: params ?? {}, ...base };
    return d.rules.length === 0 ? ALLOW : { kind: 'allow', ...base };
  }

  private governedDecision(
    ctx: InterceptContext,
    d: PolicyDecision,
    params: Record<string, unknown> | undefined,
  ): Decision {
    const base = { policy: d.policy, rules: d.rules };
    const runner = this.governed;
    if (!runner) {
      // Fail closed: without the approval service a governed call must not go ahead.
      this.decided(ctx, 'deny');
      const what = d.governed?.approval ? 'requires approval' : 'requires a quota reservation';
      return {
        kind: 'deny',
        message: `Denied by policy ${d.policy ?? d.rules.join(', ')}: ${what}: the approval service is not available`,
        ...base,
      };
    }
    this.decided(ctx, 'governed');
    const operationId = runner.operationId?.(ctx, d, params);
    return {
      kind: 'governed',
      run: (forward, signal) => this.pendingWhile(ctx, d, runner.run(ctx, d, params, forward, signal)),
      ...base,
      ...(operationId !== undefined ? { operationId } : {}),
    };
  }

  /** A governed call that needs approval counts as pending from its start until it finishes (either way). */
  private pendingWhile(ctx: InterceptContext, d: PolicyDecision, run: Promise<McpResult>): Promise<McpResult> {
    if (!d.governed?.approval) return run;
    const labels = { tenant: ctx.tenant, server: ctx.server };
    this.metrics.pendingApprovals.inc(labels);
    return run.finally(() => this.metrics.pendingApprovals.dec(labels));
  }

  private scanner(opts: { kinds: string[]; action: string }): PiiScanner {
    const known = this.scannerByOptions.get(opts);
    if (known) return known;
    const key = `${opts.action}|${opts.kinds.join(',')}`;
    let s = this.scanners.get(key);
    if (!s) {
      s = createPiiScanner({ kinds: opts.kinds, action: opts.action as 'redact' | 'alert' | 'block' });
      this.scanners.set(key, s);
    }
    // Decisions are cached and frozen by the engine, so the same options object comes back call after call.
    if (Object.isFrozen(opts)) this.scannerByOptions.set(opts, s);
    return s;
  }

  /** Full audit records keep JSON with every PII kind redacted (those the call's own scanner left, if it redacts). */
  private redactForAudit(
    level: AuditLevel,
    callScanner?: PiiScanner,
    callAction?: string,
  ): ((v: unknown) => unknown) | undefined {
    if (level !== 'full') return undefined;
    this.auditScanner ??= createPiiScanner({ action: 'redact' });
    if (!callScanner || callAction !== 'redact') {
      const all = this.auditScanner;
      return (this.fullAuditRedactor ??= (v) => all.redactJson(v).value);
    }
    // The value was already redacted by the call's own scanner: only the kinds it does not cover remain.
    const known = this.auditRedactors.get(callScanner);
    if (known !== undefined) return known ?? undefined;
    const key = callScanner.kinds.join(',');
    let rest = this.auditRemainder.get(key);
    if (rest === undefined) {
      const kinds = this.auditScanner.kinds.filter((k) => !callScanner.kinds.includes(k));
      rest = kinds.length === 0 ? null : createPiiScanner({ kinds, action: 'redact' });
      this.auditRemainder.set(key, rest);
    }
    const scanner = rest;
    const redactor = scanner === null ? null : (v: unknown) => scanner.redactJson(v).value;
    this.auditRedactors.set(callScanner, redactor);
    return redactor ?? undefined;
  }

  private decided(ctx: InterceptContext, decision: 'allow' | 'deny' | 'governed'): void {
    this.metrics.decision(ctx.tenant, ctx.server, ctx.name, decision);
  }

  private limitHit(ctx: InterceptContext, policy: string, enforcement: string): void {
    this.metrics.rateLimitHits.inc({
      tenant: ctx.tenant,
      server: ctx.server,
      tool: toolLabel(ctx),
      policy,
      enforcement,
    });
  }

  private piiFound(ctx: InterceptContext, summary: PiiSummary, where: 'arguments' | 'result', action: string): void {
    for (const [kind, n] of Object.entries(summary.counts))
      this.metrics.piiDetections.inc(
        { tenant: ctx.tenant, server: ctx.server, tool: toolLabel(ctx), kind, where, action },
        n,
      );
  }

  private note(ctx: InterceptContext, text: string): void {
    const a = (ctx.annotations ??= {});
    (a.notes ??= []).push(text);
  }

  /** Never the user: alerts go to shared channels; the audit record (by operation) says who. */
  private alert(ctx: InterceptContext, d: PolicyDecision, kind: AlertKind, text: string, rule?: string): void {
    this.metrics.alerts.inc({ kind });
    this.alerts.alert({
      kind,
      server: ctx.server,
      tenant: ctx.tenant,
      ...(ctx.name !== undefined ? { target: ctx.name } : {}),
      ...(rule !== undefined ? { rule } : {}),
      text,
      targets: d.obligations.alerts.targets,
    });
  }

  /** A pin-blocked definition alerts every notification target of the rules that apply to its server. */
  private pinAlert(e: PinBlockedEvent): void {
    this.metrics.pinBlocked.inc({ server: e.server, kind: e.kind });
    this.metrics.alerts.inc({ kind: 'pin_blocked' });
    const targets = this.serverTargets([e.server]);
    this.alerts.alert({ kind: 'pin_blocked', server: e.server, target: e.name, text: e.message, targets });
  }

  private serverTargets(servers: readonly string[]): NotificationTarget[] {
    const targets: NotificationTarget[] = [];
    for (const r of this.holder.current.engine.rules) {
      if (r.servers !== null && !servers.some((s) => r.servers!.has(s))) continue;
      for (const n of r.rule.audit.notifications) if (!targets.some((t) => t.uri === n.uri)) targets.push(n);
    }
    return targets;
  }

  /**
   * Aggregate endpoint `/mcp`: a server denied to the caller as a whole (a `deny:`, `local_only` or time rule that
   * applies to every operation of it) is absent from the caller's aggregate session.
   */
  serverVisible(ctx: InterceptContext): boolean {
    const d = this.holder.current.engine.decide({
      tenant: ctx.tenant,
      user: ctx.user,
      roles: ctx.roles,
      server: ctx.server,
      method: ctx.method,
      transport: ctx.transport,
      local: isLocalCaller(ctx.transport, ctx.remoteAddress),
      time: new Date(),
    });
    return d.effect !== 'deny';
  }

  /** Aggregate endpoint name collisions are the same rug-pull defence as pinning (issue 4): alerted like a pin block. */
  collisionRefused(_ctx: InterceptContext, c: AggregateCollision): void {
    this.metrics.alerts.inc({ kind: 'pin_blocked' });
    const servers = c.owners.map((o) => o.server);
    const targets = this.serverTargets(servers);
    this.alerts.alert({
      kind: 'pin_blocked',
      server: servers.join(','),
      target: c.exposedName,
      text: c.message,
      targets,
    });
  }
}

/** The tool label of metrics: the target name, cut like every metric label. */
function toolLabel(ctx: InterceptContext): string {
  return metricLabel(ctx.name);
}

function describePii(s: PiiSummary): string {
  return Object.entries(s.counts)
    .map(([k, n]) => `${k}×${n}`)
    .join(', ');
}
