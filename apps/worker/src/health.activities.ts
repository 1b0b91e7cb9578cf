import { type HealthActivities, type WorkerHealthReport } from '@atom-gov/contracts';

export interface HealthActivityDeps {
  identity: string;
  taskQueue: string;
  startedAt: Date;
}

export function createHealthActivities(deps: HealthActivityDeps): HealthActivities {
  return {
    async reportWorkerHealth(): Promise<WorkerHealthReport> {
      return { identity: deps.identity, taskQueue: deps.taskQueue, startedAt: deps.startedAt.toISOString() };
    },
  };
}
