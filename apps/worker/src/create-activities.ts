import { type HealthActivities } from '@atom-gov/contracts';
import { createHealthActivities, type HealthActivityDeps } from './health.activities.js';

/** Everything activities may touch, injected so tests can hand in real services of their own. */
export type ActivityDeps = HealthActivityDeps;

export type Activities = HealthActivities;

/** The worker's activities: plain functions closed over their dependencies (Temporal's sample layout). */
export function createActivities(deps: ActivityDeps): Activities {
  return { ...createHealthActivities(deps) };
}
