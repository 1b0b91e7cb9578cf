import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
// A CommonJS module whose named exports Node's ESM loader cannot detect: use the default export.
import proto from '@temporalio/proto';
import type { AuditHealth } from '@atom-gov/audit';
import { HEALTH_PROBE_ID_PREFIX, HEALTH_PROBE_WORKFLOW, type WorkerHealthReport } from '@atom-gov/contracts';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway.options.js';
import { PolicyHolder, type PolicyStatus } from '../governance/policy-holder.service.js';
import { TemporalClientService } from '../temporal/temporal-client.service.js';

const { temporal } = proto;

export type PartName = 'temporal' | 'worker' | 'audit';

export interface PartHealth {
  ok: boolean;
  detail: string;
  ms: number;
}

export interface HealthReport {
  /** degraded: serving (events are durable in the database), but part of the audit evidence is not being written. */
  status: 'ok' | 'degraded' | 'down';
  /** The parts that are down, so a 503 names them. */
  down: PartName[];
  /** What is degraded, in words (a failing checkpoint or trail-file write, audit writes spooled or failing). */
  degraded: string[];
  parts: Record<PartName, PartHealth>;
  /** The audit write path: writer lag and backlog, last checkpoint, trail file, spool (AuditStore.health()). */
  audit?: AuditHealth;
  /** The running policy: version, when loaded, the last failed hot reload (the running policy was kept). */
  policy?: PolicyStatus;
}

/** Bounds every check, so /healthz answers within a few seconds even when a part hangs. */
const rpcTimeoutMs = 3_000;
const probeTimeoutMs = 5_000;

@Injectable()
export class HealthService {
  private readonly logger = new Logger('Health');
  private inFlight: Promise<HealthReport> | undefined;

  constructor(
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
    @Inject(TemporalClientService) private readonly temporal: TemporalClientService,
    @Optional() @Inject(PolicyHolder) private readonly policy?: PolicyHolder,
  ) {}

  /** Concurrent /healthz requests share one round of checks. */
  check(): Promise<HealthReport> {
    this.inFlight ??= this.runChecks().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async runChecks(): Promise<HealthReport> {
    const [temporalPart, audit] = await Promise.all([
      timed(() => this.checkTemporal()),
      timed(async () => {
        await this.options.audit.ping();
        return `${this.options.audit.driver} answers`;
      }),
    ]);
    const worker: PartHealth = temporalPart.ok
      ? await timed(() => this.checkWorker())
      : { ok: false, detail: 'unknown: Temporal is down', ms: 0 };
    const parts = { temporal: temporalPart, worker, audit };
    const down = (Object.keys(parts) as PartName[]).filter((name) => !parts[name].ok);
    if (down.length > 0) this.logger.warn(`unhealthy: ${down.map((n) => `${n} (${parts[n].detail})`).join('; ')}`);
    const auditHealth = this.auditHealth();
    const degraded = auditHealth ? degradedParts(auditHealth) : [];
    if (down.length === 0 && degraded.length > 0) this.logger.warn(`degraded: ${degraded.join('; ')}`);
    const policy = this.policy?.status();
    return {
      status: down.length > 0 ? 'down' : degraded.length > 0 ? 'degraded' : 'ok',
      down,
      degraded,
      parts,
      ...(auditHealth ? { audit: auditHealth } : {}),
      ...(policy ? { policy } : {}),
    };
  }

  private auditHealth(): AuditHealth | undefined {
    try {
      return this.options.audit.health();
    } catch (error) {
      this.logger.warn(`audit health not available: ${describe(error)}`);
      return undefined;
    }
  }

  private async checkTemporal(): Promise<string> {
    const { connection, namespace } = this.temporal;
    await connection.withDeadline(Date.now() + rpcTimeoutMs, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
    return `${this.options.temporalAddress} namespace ${namespace}`;
  }

  /**
   * Pollers first (cheap, and "nobody polls" is the common failure), then the probe workflow: the server keeps
   * listing a stopped worker's pollers for minutes, so only a completed probe proves a worker executes.
   */
  private async checkWorker(): Promise<string> {
    const { connection, client, namespace, taskQueue } = this.temporal;
    const { pollers } = await connection.withDeadline(Date.now() + rpcTimeoutMs, () =>
      connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      }),
    );
    if (!pollers || pollers.length === 0) throw new Error(`no worker polls task queue '${taskQueue}'`);
    try {
      const report = await client.workflow.execute<() => Promise<WorkerHealthReport>>(HEALTH_PROBE_WORKFLOW, {
        taskQueue,
        workflowId: `${HEALTH_PROBE_ID_PREFIX}${randomUUID()}`,
        workflowExecutionTimeout: probeTimeoutMs,
      });
      return `${report.identity} ran the health probe on '${taskQueue}'`;
    } catch (error) {
      throw new Error(`no worker ran the health probe on '${taskQueue}' within ${probeTimeoutMs} ms`, {
        cause: error,
      });
    }
  }
}

/** The audit store's current problems, in words; the events themselves are durable unless the writer fails. */
function degradedParts(h: AuditHealth): string[] {
  const out: string[] = [];
  if (h.writer.lastError)
    out.push(`audit writes failing since ${h.writer.lastError.at}: ${h.writer.lastError.message}`);
  if (h.spool.state === 'spooling')
    out.push(`audit events spooled locally (${h.spool.spooled}): ${h.spool.reason ?? 'the database is unavailable'}`);
  if (h.checkpoints.lastError)
    out.push(`audit checkpoint write failing since ${h.checkpoints.lastError.at}: ${h.checkpoints.lastError.message}`);
  if (h.trailFile.lastError)
    out.push(
      `audit trail file${h.trailFile.path ? ` ${h.trailFile.path}` : ''} write failing since ${h.trailFile.lastError.at}: ${h.trailFile.lastError.message}`,
    );
  return out;
}

async function timed(fn: () => Promise<string>): Promise<PartHealth> {
  const started = performance.now();
  try {
    const detail = await fn();
    return { ok: true, detail, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, detail: describe(error), ms: Math.round(performance.now() - started) };
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
