// The governed path (approval / quota) on Temporal: provides GOVERNED_RUNNER for the governance interceptor.
// One call = one governedOperation workflow with a deterministic id, so a retried call attaches to it.
import { openQuotaStore, type AuditStore, type QuotaStore, type SpoolControl } from '@atom-gov/audit';
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import {
  OPERATION_META_KEY,
  opaqueUserRef,
  operationWorkflowId,
  type GovernedOperationInput,
  type OperationMeta,
  type QuotaParams,
} from '@atom-gov/contracts';
import {
  argsHash,
  GovernanceClient,
  GovernanceError,
  measuredUsage,
  operationRequestKey,
  runGovernedCall,
  type GovernedCallOutcome,
} from '@atom-gov/governance-client';
import { type Forward, type InterceptContext, type McpResult, type OperationAnnotations } from '@atom-gov/mcp';
import { type Decision as PolicyDecision, type QuotaRequirement } from '@atom-gov/policy';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway.options.js';
import { TemporalClientService } from '../temporal/temporal-client.service.js';
import { type GovernedRunner } from './governance.interceptor.js';

/** Longest redacted-arguments text put into approval messages. */
const MAX_SUMMARY = 500;

@Injectable()
export class TemporalGovernedRunner implements GovernedRunner, OnModuleDestroy {
  private readonly logger = new Logger('GovernedRunner');
  private readonly gc: GovernanceClient;

  private readonly progressEveryMs: number | undefined;
  private readonly outcomeTimeoutMs: number | undefined;
  private readonly temporal: TemporalClientService;
  /** Temporal answered recently (ms epoch): skip the reachability probe until then. */
  private healthyUntil = 0;
  /** The gateway's audit store; with a spool it reports when the database is down (governed calls then refuse). */
  private readonly audit: (AuditStore & Partial<SpoolControl>) | undefined;
  /** Where quota-only calls are reserved without waiting for a worker (the shared store the worker uses). */
  private readonly database: GatewayOptions['config']['database'] | undefined;
  private quotaStore: Promise<QuotaStore> | undefined;

  constructor(
    @Inject(TemporalClientService) temporal: TemporalClientService,
    @Optional() @Inject(GATEWAY_OPTIONS) options?: GatewayOptions,
  ) {
    this.gc = new GovernanceClient({ client: temporal.client, taskQueue: temporal.taskQueue });
    this.temporal = temporal;
    this.progressEveryMs = options?.governedProgressEveryMs;
    this.outcomeTimeoutMs = options?.governedOutcomeTimeoutMs;
    this.audit = options?.audit;
    this.database = options?.config.database;
  }

  /** Opened at the first quota-only call; a failed open is retried at the next one (the call fails closed). */
  private openQuotaStore(): Promise<QuotaStore> | undefined {
    const database = this.database;
    if (!database) return undefined;
    this.quotaStore ??= openQuotaStore({
      ...(database.url ? { databaseUrl: database.url } : {}),
      sqlitePath: database.sqlitePath,
    }).catch((error: unknown) => {
      this.quotaStore = undefined;
      throw new GovernanceError('Unavailable', `the quota store is not available: ${String(error)}`, { cause: error });
    });
    return this.quotaStore;
  }

  async onModuleDestroy(): Promise<void> {
    const store = await this.quotaStore?.catch(() => undefined);
    this.quotaStore = undefined;
    await store?.close();
  }

  operationId(ctx: InterceptContext, decision: PolicyDecision, params: Record<string, unknown> | undefined): string {
    return operationIdOf(ctx, decision, params);
  }

  /**
   * Fail fast and closed: one cheap RPC under a short deadline before a governed call (at most every 10 s), so an
   * unreachable Temporal refuses the call in about two seconds instead of after the client's whole retry schedule.
   */
  private async ensureReachable(): Promise<void> {
    if (Date.now() < this.healthyUntil) return;
    const connection = this.temporal.connection;
    try {
      await connection.withDeadline(Date.now() + PROBE_DEADLINE_MS, () => connection.workflowService.getSystemInfo({}));
    } catch (error) {
      throw new GovernanceError(
        'Unavailable',
        `Temporal did not answer within ${PROBE_DEADLINE_MS} ms: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    this.healthyUntil = Date.now() + HEALTHY_FOR_MS;
  }

  async run(
    ctx: InterceptContext,
    decision: PolicyDecision,
    params: Record<string, unknown> | undefined,
    forward: Forward,
    signal: AbortSignal,
  ): Promise<McpResult> {
    const input = toOperationInput(ctx, decision, params);
    if (this.outcomeTimeoutMs !== undefined && input.approvalMode === 'wait')
      input.outcomeTimeoutMs = this.outcomeTimeoutMs;
    // Fail closed: a governed operation must not run while its audit records cannot be made durable (fast-path
    // events are spooled meanwhile; governed ones are refused until the audit database is back).
    if (this.audit?.isDegraded?.()) {
      const text = `Denied by policy ${input.policy}: the audit database is not available; governed operations are refused until it is back`;
      this.logger.error(`governed operation ${input.operationId}: refused, audit store degraded`);
      annotate(ctx, { outcome: 'denied' });
      return answer(text, true, { operationId: input.operationId, status: 'unavailable', message: text });
    }
    let out: GovernedCallOutcome;
    try {
      await this.ensureReachable();
      // Quota-only: the gateway reserves itself (eager) and forwards without waiting for a worker.
      const quotaStore = input.approval === undefined ? await this.openQuotaStore() : undefined;
      out = await runGovernedCall(this.gc, input, () => forward(params), {
        ...(quotaStore ? { quotaStore } : {}),
        signal,
        ...(this.progressEveryMs !== undefined ? { progressEveryMs: this.progressEveryMs } : {}),
        // MCP progress notifications keep a waiting caller's request alive (no-op when it sent no progressToken).
        onProgress: (_s, text) => ctx.progress?.(text),
        usage: measuredUsage,
        requestBytes: Buffer.byteLength(JSON.stringify(params ?? {}), 'utf8'),
      });
    } catch (error) {
      // The operation id is taken by another call (an id digest collision): refuse this one, saying why.
      if (error instanceof GovernanceError && error.code === 'Conflict') {
        this.logger.error(`governed operation ${input.operationId}: ${error.message}`);
        const text = `Denied by policy ${input.policy}: ${error.message}`;
        annotate(ctx, { outcome: 'denied' });
        return answer(text, true, { operationId: input.operationId, status: 'denied', message: text });
      }
      // Fail closed: Temporal unreachable means the call does not go ahead, with a clear reason.
      if (!(error instanceof GovernanceError) || error.code !== 'Unavailable') throw error;
      this.logger.error(`governed operation ${input.operationId}: ${error.message}`);
      const what = decision.governed?.approval ? 'requires approval' : 'requires a quota reservation';
      const text = `Denied by policy ${input.policy}: ${what}: the approval service is not available`;
      annotate(ctx, { outcome: 'denied' });
      return answer(text, true, { operationId: input.operationId, status: 'unavailable', message: text });
    }
    switch (out.kind) {
      case 'forwarded':
        return out.result as McpResult;
      case 'denied': {
        const r = out.state.decisionReason;
        annotate(ctx, {
          outcome: r === 'timeout_deny' ? 'timeout' : r === 'cancelled' ? 'cancelled' : 'denied',
        });
        return answer(out.message, true, {
          operationId: input.operationId,
          status: 'denied',
          ...(r !== undefined ? { decisionReason: r } : {}),
          message: out.message,
        });
      }
      case 'deferred':
        // Not a failure: the caller is told the operation id and to repeat the call once approved.
        annotate(ctx, { note: `deferred: operation ${input.operationId} waits for approval` });
        return answer(out.message, false, { operationId: input.operationId, status: 'deferred', message: out.message });
    }
  }
}

/** How long the reachability probe may take: the SDK would otherwise retry an unreachable server for ~30 s. */
const PROBE_DEADLINE_MS = 2_000;
/** A successful probe vouches for Temporal this long. */
const HEALTHY_FOR_MS = 10_000;

/** The gateway's own answer to a governed call, with the machine-readable operation status in `_meta`. */
function answer(text: string, isError: boolean, meta: OperationMeta): McpResult {
  return { content: [{ type: 'text', text }], isError, _meta: { [OPERATION_META_KEY]: meta } };
}

/** What the gateway's own audit record of this request says about the governed operation. */
function annotate(
  ctx: InterceptContext,
  a: { outcome?: NonNullable<OperationAnnotations['outcome']>; note?: string },
): void {
  const annotations = (ctx.annotations ??= {});
  if (a.outcome) annotations.outcome = a.outcome;
  if (a.note) annotations.notes = [...(annotations.notes ?? []), a.note];
}

/** Deterministic: the same caller, call, arguments and policy version always map to the same operation. */
function operationIdOf(ctx: InterceptContext, d: PolicyDecision, params: Record<string, unknown> | undefined): string {
  const args = (params?.arguments as Record<string, unknown> | undefined) ?? {};
  const requestKey = operationRequestKey({
    user: ctx.user,
    server: ctx.server,
    tool: ctx.name ?? ctx.method,
    argsHash: argsHash(args),
    policyVersion: d.configVersion,
  });
  return operationWorkflowId(ctx.tenant, requestKey);
}

/** Maps the interceptor's view of a call and the policy decision onto the workflow's input. */
export function toOperationInput(
  ctx: InterceptContext,
  d: PolicyDecision,
  params: Record<string, unknown> | undefined,
): GovernedOperationInput {
  const tool = ctx.name ?? ctx.method;
  const args = (params?.arguments as Record<string, unknown> | undefined) ?? {};
  const hash = argsHash(args);
  const policyVersion = d.configVersion;
  const approval = d.governed?.approval;
  const targets = d.obligations.alerts.targets.map((t) => t.uri);
  return {
    operationId: operationIdOf(ctx, d, params),
    tenant: ctx.tenant,
    requester: ctx.user,
    roles: [...ctx.roles],
    server: ctx.server,
    method: ctx.method,
    tool,
    argsHash: hash,
    redactedArgs: redactedSummary(ctx, args),
    policy: d.policy ?? d.rules.join(', '),
    policyVersion,
    rules: d.rules,
    sessionId: ctx.sessionId,
    ...(approval
      ? {
          approval: {
            rule: approval.rule,
            approvers: approval.approvers,
            minApprovals: approval.minApprovals,
            timeoutMs: approval.timeoutMs,
            onTimeout: approval.onTimeout,
            // The rules' `notification:` targets (slack://channel, addresses) hear about requests and decisions.
            notify: targets,
            ...(approval.escalation
              ? {
                  escalation: {
                    afterMs: approval.escalation.afterMs,
                    approvers: [...approval.escalation.approvers],
                    notify: targets,
                  },
                }
              : {}),
            ...(approval.reminderEveryMs !== undefined ? { reminderEveryMs: approval.reminderEveryMs } : {}),
          },
        }
      : {}),
    quotas: (d.governed?.quotas ?? []).map((q) => toQuotaParams(ctx, q, targets)),
    requestedAt: new Date().toISOString(),
    // defer only means something when there is an approval to wait for.
    approvalMode: approval?.approvalMode === 'defer' ? 'defer' : 'wait',
  };
}

function toQuotaParams(ctx: InterceptContext, q: QuotaRequirement, notify: string[]): QuotaParams {
  // Counter scope keys: never the user's name (often an address), the opaque per-tenant reference instead.
  const scopeKey =
    q.per === 'user'
      ? opaqueUserRef(ctx.tenant, ctx.user)
      : q.per === 'tenant'
        ? ctx.tenant
        : q.per === 'server'
          ? ctx.server
          : 'global';
  return {
    rule: q.rule,
    resource: q.resource,
    per: q.per,
    scopeKey,
    limit: q.amount.limit,
    ...(q.amount.periodMs !== undefined ? { periodMs: q.amount.periodMs } : {}),
    reserve: 1,
    enforcement: q.enforcement,
    ...(q.alertThreshold !== undefined ? { alertThreshold: q.alertThreshold } : {}),
    ...(notify.length > 0 ? { notify } : {}),
  };
}

/** The interceptor's PII-redacted audit summary when it made one; else the argument names only (no values). */
function redactedSummary(ctx: InterceptContext, args: Record<string, unknown>): string {
  const summary = ctx.annotations?.argsSummary;
  const text = summary ?? `{${Object.keys(args).join(', ')}}`;
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text;
}
