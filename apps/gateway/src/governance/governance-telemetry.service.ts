// Turns each operation record (what libs/mcp reports once per request) into metrics and one OpenTelemetry span,
// times the audit append that precedes the response (the audit write lag), and feeds the metrics that must be the
// same from every gateway process at scrape time: pending approvals (Temporal visibility) and quota usage (the
// shared quota store), plus the audit store's health.
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { openQuotaStore, type QuotaStore } from '@atom-gov/audit';
import { GOVERNED_OPERATION_WORKFLOW, searchAttributeKeys } from '@atom-gov/contracts';
import {
  CallTracer,
  createOtlpTraceExporter,
  enableTracePropagation,
  type GovMetrics,
  type PendingApprovalsSample,
  type QuotaUsageSample,
  type SpanExporter,
} from '@atom-gov/metrics';
import type { McpGateway, OperationRecord } from '@atom-gov/mcp';
import type { OperationObserver } from '../mcp/mcp.service.js';
import { TemporalClientService } from '../temporal/temporal-client.service.js';
import { GOV_METRICS } from './governance-metrics.js';
import type { GovernedRunner } from './governance.interceptor.js';
import { GOVERNANCE_OPTIONS, type GovernanceOptions } from './governance.options.js';
import { PolicyHolder } from './policy-holder.service.js';

/**
 * Visibility query of this deployment's operations waiting for approval (its task queue: several deployments may
 * share a namespace; running: a terminated one keeps its last status).
 */
export function pendingApprovalsQuery(taskQueue: string): string {
  const queue = taskQueue.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  return `WorkflowType = '${GOVERNED_OPERATION_WORKFLOW}' AND TaskQueue = '${queue}' AND ExecutionStatus = 'Running' AND ${searchAttributeKeys.status.name} = 'pending'`;
}
/** Temporal groups counts by ExecutionStatus only: the tenant/server split lists at most this many executions. */
const PENDING_LIST_CAP = 1_000;
/** Label of pending operations beyond the cap (the sum over series stays the exact count). */
const OTHER = '(other)';
/** Reads at scrape time are reused this long (Prometheus scrapes every 15-60 s; several scrapers share one read). */
const FEED_CACHE_MS = 5_000;
const TEMPORAL_DEADLINE_MS = 1_500;

@Injectable()
export class GovernanceTelemetry implements OperationObserver, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Telemetry');
  private readonly tracer: CallTracer;
  private quotaStore: Promise<QuotaStore> | undefined;

  constructor(
    @Inject(GOV_METRICS) private readonly metrics: GovMetrics,
    @Inject(GOVERNANCE_OPTIONS) private readonly options: GovernanceOptions,
    @Optional() @Inject(TemporalClientService) private readonly temporal?: TemporalClientService,
    @Optional() @Inject(PolicyHolder) private readonly policy?: PolicyHolder,
  ) {
    const otlp = options.config.telemetry?.otlp;
    const exporter: SpanExporter | undefined =
      options.traceExporter ?? (otlp ? createOtlpTraceExporter(otlp) : undefined);
    // The governed call's span must stay active across awaits and reach Temporal's headers.
    if (exporter) enableTracePropagation();
    this.tracer = new CallTracer(
      exporter ? { exporter, serviceName: options.config.telemetry?.serviceName ?? 'atom-gov-gateway' } : {},
    );
    if (otlp) this.logger.log(`traces to ${otlp.tracesUrl} (${otlp.protocol})`);
  }

  onModuleInit(): void {
    if (this.temporal) {
      const temporal = this.temporal;
      this.metrics.feedPendingApprovals(() => pendingApprovals(temporal), {
        cacheMs: FEED_CACHE_MS,
        timeoutMs: TEMPORAL_DEADLINE_MS + 500,
      });
    }
    if (this.policy) this.metrics.feedQuotaUsage(() => this.quotaUsage(), { cacheMs: FEED_CACHE_MS });
    const audit = this.options.audit;
    if (audit) this.metrics.feedAuditHealth(() => audit.health());
  }

  gatewayStarted(gateway: McpGateway): void {
    this.metrics.sessionCount = () => gateway.sessionCount;
  }

  /** The governed runner, run inside the call's span (so its workflow shares the trace). */
  traceGoverned(runner: GovernedRunner): GovernedRunner {
    const tracer = this.tracer;
    return {
      ...(runner.operationId ? { operationId: runner.operationId.bind(runner) } : {}),
      run(ctx, decision, params, forward, signal) {
        const operationId = runner.operationId?.(ctx, decision, params);
        if (operationId === undefined) return runner.run(ctx, decision, params, forward, signal);
        return tracer.within(operationId, { server: ctx.server, method: ctx.method }, () =>
          runner.run(ctx, decision, params, forward, signal),
        );
      },
    };
  }

  operation(r: OperationRecord): void {
    const sample = {
      tenant: r.tenant,
      server: r.server,
      method: r.method,
      ...(r.target !== undefined ? { tool: r.target } : {}),
      decision: r.decision,
      outcome: r.outcome,
      durationMs: r.durationMs,
    };
    this.metrics.observeOperation(sample);
    this.tracer.record({
      ...sample,
      // The record is made when the response is ready: the request arrived durationMs earlier.
      start: new Date(r.time.getTime() - r.durationMs),
      ...(r.policy !== undefined ? { policy: r.policy } : {}),
      ...(r.rules !== undefined ? { rules: r.rules } : {}),
      ...(r.operationId !== undefined ? { operationId: r.operationId } : {}),
      ...(r.errorMessage !== undefined ? { errorMessage: r.errorMessage } : {}),
      transport: r.transport,
    });
  }

  async audited<T>(append: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await append();
    } catch (error) {
      this.metrics.auditWriteFailures.inc();
      throw error;
    } finally {
      this.metrics.auditWriteSeconds.observe((performance.now() - started) / 1000);
    }
  }

  /** Each quota counter's current period against the limit of the rule that made it (rules of the running policy). */
  private async quotaUsage(): Promise<QuotaUsageSample[]> {
    const policy = this.policy;
    if (!policy) return [];
    const quotas = policy.current.engine.rules.flatMap((r) => r.quotas);
    if (quotas.length === 0) return [];
    const store = await this.openQuotaStore();
    const now = Date.now();
    const samples: QuotaUsageSample[] = [];
    for (const row of await store.latestCounters()) {
      // Counter key: tenant|scope:key|rule|resource (apps/worker quotaCounterKey); the rule gives limit and period.
      const q = quotas.find(
        (x) => row.counterKey.startsWith(`${row.tenant}|`) && row.counterKey.endsWith(`|${x.rule}|${x.resource}`),
      );
      if (!q) continue;
      const periodMs = q.amount.periodMs;
      const current = periodMs ? Math.floor(now / periodMs) * periodMs : 0;
      samples.push({
        tenant: row.tenant,
        resource: q.resource,
        used: row.periodStart === current ? row.used : 0,
        limit: q.amount.limit,
      });
    }
    return samples;
  }

  private openQuotaStore(): Promise<QuotaStore> {
    const { database } = this.options.config;
    this.quotaStore ??= openQuotaStore({
      ...(database.url ? { databaseUrl: database.url } : {}),
      sqlitePath: database.sqlitePath,
    }).catch((error: unknown) => {
      this.quotaStore = undefined; // try again at the next scrape
      throw error;
    });
    return this.quotaStore;
  }

  async onModuleDestroy(): Promise<void> {
    await this.tracer.shutdown();
    const store = await this.quotaStore?.catch(() => undefined);
    await store?.close();
  }
}

/** Pending approvals per tenant and server: one count, and a listing only when something is pending. */
async function pendingApprovals(temporal: TemporalClientService): Promise<PendingApprovalsSample[]> {
  const { connection, client } = temporal;
  const query = pendingApprovalsQuery(temporal.taskQueue);
  return connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, async () => {
    const { count } = await client.workflow.count(query);
    if (count === 0) return [];
    const by = new Map<string, PendingApprovalsSample>();
    let listed = 0;
    for await (const wf of client.workflow.list({ query, pageSize: PENDING_LIST_CAP })) {
      const tenant = wf.typedSearchAttributes.get(searchAttributeKeys.tenant) ?? '';
      const server = wf.typedSearchAttributes.get(searchAttributeKeys.server) ?? '';
      const key = JSON.stringify([tenant, server]);
      const entry = by.get(key) ?? { tenant, server, count: 0 };
      entry.count += 1;
      by.set(key, entry);
      if (++listed >= PENDING_LIST_CAP) break;
    }
    if (listed >= PENDING_LIST_CAP && count > listed)
      by.set('other', { tenant: OTHER, server: OTHER, count: count - listed });
    return [...by.values()];
  });
}
