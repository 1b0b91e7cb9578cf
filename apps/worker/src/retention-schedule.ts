import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleOptions,
  type ScheduleOptionsAction,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';
import { AUDIT_RETENTION_WORKFLOW, type AuditRetentionInput, auditRetentionScheduleId } from '@atom-gov/contracts';

export interface RetentionScheduleOptions extends AuditRetentionInput {
  taskQueue: string;
  /** Local hour (in `timeZone`) of the daily run; default 3 (a quiet hour). */
  hour?: number;
}

/**
 * Creates the daily audit retention schedule, or brings an existing one up to date (retention days, zone, task
 * queue) when the config changed: every worker start calls this, so it must be idempotent. Paused schedules stay
 * paused: an operator's pause outlives restarts.
 */
export async function ensureRetentionSchedule(
  client: Client,
  opts: RetentionScheduleOptions,
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = auditRetentionScheduleId(opts.taskQueue);
  const spec: ScheduleSpec = {
    calendars: [{ hour: opts.hour ?? 3, minute: 0, comment: 'daily audit retention' }],
    timezone: opts.timeZone,
  };
  const input: AuditRetentionInput = { retentionDays: opts.retentionDays, timeZone: opts.timeZone };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: AUDIT_RETENTION_WORKFLOW,
    taskQueue: opts.taskQueue,
    workflowId: `${scheduleId}-run`,
    args: [input],
    workflowExecutionTimeout: '6 hours',
  };
  // A missed day (server or workers down) is caught up once, not run again for every missed day.
  const policies: ScheduleOptions['policies'] = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
    return { scheduleId, created: true };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    spec,
    action,
    policies,
    state: {
      paused: previous.state.paused,
      ...(previous.state.note !== undefined ? { note: previous.state.note } : {}),
    },
  }));
  return { scheduleId, created: false };
}
