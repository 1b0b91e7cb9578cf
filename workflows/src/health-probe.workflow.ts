import { proxyActivities } from '@temporalio/workflow';
import { type HealthActivities, type WorkerHealthReport } from '@atom-gov/contracts';

// Short timeouts and no retries: a probe that cannot finish quickly is the answer ("worker down").
const { reportWorkerHealth } = proxyActivities<HealthActivities>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
});

/**
 * Run by the gateway's /healthz: completing it proves that a worker polls the task queue, has loaded this
 * workflow bundle and runs activities. Task-queue pollers alone would not tell: the server lists a stopped
 * worker's pollers for minutes.
 */
export async function healthProbe(): Promise<WorkerHealthReport> {
  return reportWorkerHealth();
}
