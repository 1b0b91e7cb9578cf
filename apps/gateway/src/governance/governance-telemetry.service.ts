// Turns each operation record (what libs/mcp reports once per request) into metrics and one OpenTelemetry span,
// and times the audit append that precedes the response (the audit write lag).
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CallTracer, type GovMetrics } from '@atom-gov/metrics';
import type { McpGateway, OperationRecord } from '@atom-gov/mcp';
import type { OperationObserver } from '../mcp/mcp.service.js';
import { GOV_METRICS } from './governance-metrics.js';
import { GOVERNANCE_OPTIONS, type GovernanceOptions } from './governance.options.js';

@Injectable()
export class GovernanceTelemetry implements OperationObserver, OnModuleDestroy {
  private readonly tracer: CallTracer;

  constructor(
    @Inject(GOV_METRICS) private readonly metrics: GovMetrics,
    @Inject(GOVERNANCE_OPTIONS) options: GovernanceOptions,
  ) {
    this.tracer = new CallTracer(options.traceExporter ? { exporter: options.traceExporter } : {});
  }

  gatewayStarted(gateway: McpGateway): void {
    this.metrics.sessionCount = () => gateway.sessionCount;
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

  async onModuleDestroy(): Promise<void> {
    await this.tracer.shutdown();
  }
}
