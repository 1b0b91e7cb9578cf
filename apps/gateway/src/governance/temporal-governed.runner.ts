// The governed path (approval / quota) on Temporal: provides GOVERNED_RUNNER for the governance interceptor.
// One call = one governedOperation workflow with a deterministic id, so a retried call attaches to it.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { opaqueUserRef, operationWorkflowId, type GovernedOperationInput, type QuotaParams } from '@atom-gov/contracts';
import {
  argsHash,
  GovernanceClient,
  GovernanceError,
  operationRequestKey,
  runGovernedCall,
  type GovernedCallOutcome,
} from '@atom-gov/governance-client';
import { type Forward, type InterceptContext, type McpResult } from '@atom-gov/mcp';
import { type Decision as PolicyDecision, type QuotaRequirement } from '@atom-gov/policy';
import { TemporalClientService } from '../temporal/temporal-client.service.js';
import { type GovernedRunner } from './governance.interceptor.js';

/** Longest redacted-arguments text put into approval messages. */
const MAX_SUMMARY = 500;

@Injectable()
export class TemporalGovernedRunner implements GovernedRunner {
  private readonly logger = new Logger('GovernedRunner');
  private readonly gc: GovernanceClient;

  constructor(@Inject(TemporalClientService) temporal: TemporalClientService) {
    this.gc = new GovernanceClient({ client: temporal.client, taskQueue: temporal.taskQueue });
  }

  async run(
    ctx: InterceptContext,
    decision: PolicyDecision,
    params: Record<string, unknown> | undefined,
    forward: Forward,
    signal: AbortSignal,
  ): Promise<McpResult> {
    const input = toOperationInput(ctx, decision, params);
    let out: GovernedCallOutcome;
    try {
      out = await runGovernedCall(this.gc, input, () => forward(params), {
        signal,
        // libs/mcp's InterceptContext offers no progress-notification hook yet: log the waiting state instead.
        onProgress: (_s, text) => this.logger.debug(text),
      });
    } catch (error) {
      // Fail closed: Temporal unreachable means the call does not go ahead, with a clear reason.
      if (!(error instanceof GovernanceError) || error.code !== 'Unavailable') throw error;
      this.logger.error(`governed operation ${input.operationId}: ${error.message}`);
      const what = decision.governed?.approval ? 'requires approval' : 'requires a quota reservation';
      const text = `Denied by policy ${input.policy}: ${what}: the approval service is not available`;
      return { content: [{ type: 'text', text }], isError: true };
    }
    switch (out.kind) {
      case 'forwarded':
        return out.result as McpResult;
      case 'denied':
        return { content: [{ type: 'text', text: out.message }], isError: true };
      case 'deferred':
        // Not a failure: the caller is told the operation id and to repeat the call once approved.
        return { content: [{ type: 'text', text: out.message }], isError: false };
    }
  }
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
  const requestKey = operationRequestKey({ user: ctx.user, server: ctx.server, tool, argsHash: hash, policyVersion });
  const approval = d.governed?.approval;
  return {
    operationId: operationWorkflowId(ctx.tenant, requestKey),
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
            notify: [],
          },
        }
      : {}),
    quotas: (d.governed?.quotas ?? []).map((q) => toQuotaParams(ctx, q)),
    requestedAt: new Date().toISOString(),
    approvalMode: 'wait',
  };
}

function toQuotaParams(ctx: InterceptContext, q: QuotaRequirement): QuotaParams {
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
  };
}

/** The interceptor's PII-redacted audit summary when it made one; else the argument names only (no values). */
function redactedSummary(ctx: InterceptContext, args: Record<string, unknown>): string {
  const summary = ctx.annotations?.argsSummary;
  const text = summary ?? `{${Object.keys(args).join(', ')}}`;
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text;
}
