/** What the worker reports when the gateway's /healthz runs the health probe workflow. */
export interface WorkerHealthReport {
  /** The worker's identity (pid@host), so an operator sees which worker answered. */
  identity: string;
  taskQueue: string;
  startedAt: string;
}

/** Activities the health probe calls: proves the worker runs activities, not only workflow tasks. */
export interface HealthActivities {
  reportWorkerHealth(): Promise<WorkerHealthReport>;
}

/** Workflow type name of the health probe (the function exported by @atom-gov/workflows). */
export const HEALTH_PROBE_WORKFLOW = 'healthProbe';

/** Prefix of health probe workflow ids, so they are easy to filter out in the Temporal UI. */
export const HEALTH_PROBE_ID_PREFIX = 'atom-gov-health-';
