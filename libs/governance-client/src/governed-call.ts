import {
  operationStateHeader,
  outcomeTimeoutMsOf,
  quotaRefusalMessage,
  quotaReservationId,
  reserveInQuotaStore,
  type GovernedOperationInput,
  type OperationOutcome,
  type OperationState,
  type QuotaStoreReserveRequest,
  type QuotaStoreReserveResult,
  type ReservationReport,
  type ReserveQuotaResult,
} from '@atom-gov/contracts';
import { GovernanceError, type GovernanceClient } from './governance-client.service.js';

export type CallResult = Record<string, unknown>;

export type GovernedCallOutcome =
  /** Allowed and forwarded: the upstream's result (which may itself be an `isError` tool result). */
  | { kind: 'forwarded'; result: CallResult; state: OperationState }
  /** Denied (rejection, approval timeout with deny, hard quota, cancelled): `message` says who/why. */
  | { kind: 'denied'; message: string; state: OperationState }
  /** approvalMode defer and not decided yet: answer at once; the same call repeated later attaches. */
  | { kind: 'deferred'; message: string; state: OperationState };

export interface GovernedCallOptions {
  signal?: AbortSignal;
  /** Called while waiting (about every `progressEveryMs`), e.g. for MCP progress notifications. */
  onProgress?: (state: OperationState, text: string) => void;
  progressEveryMs?: number;
  /** Usage to commit per quota resource, from the upstream result and the call's duration (default: what was reserved). */
  usage?: (result: CallResult, durationMs: number) => Record<string, number> | undefined;
  /** Size of the forwarded request, for the outcome report (audit). */
  requestBytes?: number;
  /**
   * The shared quota store (@atom-gov/audit `openQuotaStore`). With it, a call that needs no approval is decided
   * here (eager reservation): start the workflow (which registers the release), reserve in the store, answer,
   * and report the reservation to the workflow, instead of waiting for a worker to reserve.
   */
  quotaStore?: {
    reserve(request: QuotaStoreReserveRequest): Promise<QuotaStoreReserveResult>;
    /** With these, an eager call whose outcome cannot reach Temporal settles its reservations here (see below). */
    commit?(reservationId: string, used: number): Promise<void>;
    release?(reservationId: string): Promise<void>;
  };
  /** How long the eager path's report may take before the reservations are settled directly (default 10 s). */
  reportDeadlineMs?: number;
}

/**
 * What a call used, per quota resource: one API call, its duration as compute seconds, the result's size as bytes,
 * and the cost units the upstream reported in `_meta` (`cost_units` or `costUnits`), when it did.
 */
export function measuredUsage(result: CallResult, durationMs: number): Record<string, number> {
  const usage: Record<string, number> = {
    api_calls: 1,
    compute_seconds: Math.max(0, durationMs) / 1000,
    bytes: resultBytes(result),
  };
  const meta = result._meta as Record<string, unknown> | undefined;
  const cost = meta?.cost_units ?? meta?.costUnits;
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) usage.cost_units = cost;
  return usage;
}

/** UTF-8 size of the result as it goes over the wire (JSON). */
export function resultBytes(result: CallResult): number {
  return Buffer.byteLength(JSON.stringify(result), 'utf8');
}

/** "waiting for approval: 1 of 2, expires in 54 min" */
export function progressText(s: OperationState, now = Date.now()): string {
  if (!s.approvalRequired || s.deadline === undefined) return `governed operation ${s.operationId}: ${s.status}`;
  const mins = Math.max(0, Math.ceil((Date.parse(s.deadline) - now) / 60_000));
  return `waiting for approval: ${s.approvals.length} of ${s.requiredApprovals}, expires in ${mins} min (operation ${s.operationId})`;
}

/** What the caller is told when the operation is denied. */
export function denialText(s: OperationState): string {
  switch (s.decisionReason) {
    case 'rejected':
      return `Denied: ${s.message ?? 'rejected'} (operation ${s.operationId})`;
    case 'timeout_deny':
      return `Denied: approval timed out: ${s.message ?? ''} (operation ${s.operationId})`;
    case 'quota_exceeded':
      return `Denied by policy ${s.policy}: ${s.message ?? 'quota exceeded'} (operation ${s.operationId})`;
    case 'cancelled':
      return `Cancelled (operation ${s.operationId})`;
    default:
      return `Denied: ${s.message ?? s.status} (operation ${s.operationId})`;
  }
}

function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/**
 * The gateway's governed path in one call: start or attach to the operation, wait for the decision (with
 * progress), forward when allowed, and report the outcome (succeeded / failed / cancelled) so the workflow
 * commits or releases the quota. A caller that goes away (signal) cancels the operation's reservation.
 */
export async function runGovernedCall(
  gc: GovernanceClient,
  input: GovernedOperationInput,
  forward: () => Promise<CallResult>,
  opts: GovernedCallOptions = {},
): Promise<GovernedCallOutcome> {
  const every = opts.progressEveryMs ?? 5000;
  const abort = aborted(opts.signal);
  abort.catch(() => undefined);
  const cancel = async (): Promise<void> => {
    await gc.signalOutcome(input.operationId, { status: 'cancelled' }).catch(() => undefined);
  };
  const quotas = input.quotas ?? [];
  if (opts.quotaStore && input.approval === undefined && quotas.length > 0)
    return runEagerCall(gc, input, opts.quotaStore, forward, opts, abort);
  let state: OperationState;
  let starting: Promise<OperationState> | undefined;
  try {
    // First answer as soon as the operation waits for approvers (a quota-only call gets its decision here).
    starting = gc.startOrAttach(input, {
      untilPending: true,
      ...(input.approvalMode === 'defer' ? {} : { maxWaitMs: every }),
    });
    state = await Promise.race([starting, abort]);
    while (state.decision === undefined) {
      if (input.approvalMode === 'defer') {
        return {
          kind: 'deferred',
          state,
          message: `Approval required (${state.requiredApprovals} of ${state.approvers.join(', ') || 'the approvers'}); operation ${state.operationId}. Repeat the same call once approved, within ${state.deadline ?? 'the deadline'}.`,
        };
      }
      opts.onProgress?.(state, progressText(state));
      state = await Promise.race([gc.awaitDecision(input.operationId, { maxWaitMs: every }), abort]);
    }
  } catch (error) {
    if (opts.signal?.aborted) {
      // A caller that left while the start was in flight: the cancellation must land after the start, or it finds
      // no workflow, is lost, and the operation keeps asking approvers for a call nobody waits for.
      await starting?.catch(() => undefined);
      await cancel();
    }
    throw error;
  }
  if (state.decision !== 'allow') return { kind: 'denied', message: denialText(state), state };
  return forwardAndReport(gc, input, state, forward, opts, abort);
}

/** Forwards an allowed call and reports its outcome (a signal, durable before the result leaves). */
async function forwardAndReport(
  gc: GovernanceClient,
  input: GovernedOperationInput,
  state: OperationState,
  forward: () => Promise<CallResult>,
  opts: GovernedCallOptions,
  abort: Promise<never>,
  /** How the outcome reaches the workflow (default: the outcome signal; eager: the one signal-with-start report). */
  deliver: (outcome: OperationOutcome) => Promise<void> = (outcome) => gc.signalOutcome(input.operationId, outcome),
): Promise<GovernedCallOutcome> {
  const started = Date.now();
  let result: CallResult;
  try {
    result = await Promise.race([forward(), abort]);
  } catch (error) {
    const cancelled = opts.signal?.aborted === true;
    await deliver({
      status: cancelled ? 'cancelled' : 'failed',
      durationMs: Date.now() - started,
      errorMessage: error instanceof Error ? error.message : String(error),
    }).catch(() => undefined);
    throw error;
  }
  const durationMs = Date.now() - started;
  const usage = opts.usage?.(result, durationMs);
  const outcome: OperationOutcome = {
    status: result.isError === true ? 'failed' : 'succeeded',
    durationMs,
    responseBytes: resultBytes(result),
    ...(opts.requestBytes !== undefined ? { requestBytes: opts.requestBytes } : {}),
    ...(usage ? { usage } : {}),
  };
  // Durable in Temporal before the result leaves; the workflow commits the quota and audits after.
  await deliver(outcome);
  return { kind: 'forwarded', result, state: { ...state, outcome } };
}

/**
 * Eager reservation (quota-only): no worker task on the way to the decision, and one after it. The start (with a
 * start delay of the outcome timeout) is durable first, so the workflow releases whatever this gateway reserves if it
 * never reports (it dies, Temporal goes away): the delay ends, the first workflow task finds no report. Reservation
 * ids are derived from the run id exactly as the workflow derives them, so a retried call attaching to the same run
 * reserves nothing twice and hears the same answer. One report after the call (signal-with-start: reservations and
 * outcome) wakes the workflow, which records, audits and commits in that one task.
 */
async function runEagerCall(
  gc: GovernanceClient,
  input: GovernedOperationInput,
  store: NonNullable<GovernedCallOptions['quotaStore']>,
  forward: () => Promise<CallResult>,
  opts: GovernedCallOptions,
  abort: Promise<never>,
): Promise<GovernedCallOutcome> {
  const quotas = input.quotas ?? [];
  const eager: GovernedOperationInput = { ...input, eagerReservation: true, delayedStart: true };
  const startDelayMs = outcomeTimeoutMsOf(eager);
  const report = (r: ReservationReport | OperationOutcome) => gc.reportEager(eager, r, { startDelayMs });
  // Wakes the delayed run to release at once (a plain signal or a cancel would wait for the end of the delay).
  const cancel = async (): Promise<void> => {
    await report({ status: 'cancelled' }).catch(() => undefined);
  };
  // Not started (Temporal unreachable, or the caller left first): nothing reserved, nothing to cancel.
  const { runId } = await Promise.race([gc.start(eager, { startDelayMs }), abort]);
  let results: ReserveQuotaResult[];
  try {
    results = await Promise.race([
      Promise.all(
        quotas.map((quota, i) =>
          reserveInQuotaStore(store, {
            reservationId: quotaReservationId(input.operationId, runId, i, quota),
            tenant: input.tenant,
            operationId: input.operationId,
            quota,
            at: input.requestedAt,
          }).catch((error: unknown) => {
            // Fail closed; the workflow releases what was reserved when the cancellation below (or its timeout) lands.
            throw new GovernanceError(
              'Unavailable',
              `quota store did not answer for ${input.operationId}: ${error instanceof Error ? error.message : String(error)}`,
              { cause: error },
            );
          }),
        ),
      ),
      abort,
    ]);
  } catch (error) {
    await cancel();
    throw error;
  }
  // A refusal that is not over the limit is an id the workflow already released (tombstone): that run expired
  // between the start and the reserve. Refuse without blaming the quota; the same call repeated starts afresh.
  if (results.some((r) => !r.granted && !r.overLimit)) {
    await cancel();
    throw new GovernanceError(
      'Unavailable',
      `operation ${input.operationId} expired before its quota reservation; repeat the call`,
    );
  }
  const state = eagerState(eager, results);
  if (state.decision !== 'allow') {
    // The workflow records the refusal and releases any other reservation of the call from this report.
    await report({ reservations: results });
    return { kind: 'denied', message: denialText(state), state };
  }
  const deadlineMs = opts.reportDeadlineMs ?? REPORT_DEADLINE_MS;
  return forwardAndReport(gc, input, state, forward, opts, abort, async (outcome) => {
    try {
      await gc.reportEager(eager, { reservations: results, outcome }, { startDelayMs, deadlineMs });
    } catch (error) {
      // The call ran but Temporal did not take its report (gone, or no answer in time): settle here, by reservation
      // id, so a succeeded call's usage is counted anyway. Idempotent with the workflow: a committed reservation
      // stays committed when its timeout releases, and a report that did arrive commits the same usage again.
      if (!(error instanceof GovernanceError) || error.code !== 'Unavailable' || !(await settleDirectly(outcome)))
        throw error;
    }
  });

  /** True when every granted reservation was committed (succeeded) or released (otherwise) in the store. */
  async function settleDirectly(outcome: OperationOutcome): Promise<boolean> {
    const granted = state.quotas.filter((q) => q.status === 'reserved');
    const { commit, release } = store;
    if (outcome.status === 'succeeded' ? !commit : !release) return false;
    try {
      await Promise.all(
        granted.map((q) =>
          outcome.status === 'succeeded'
            ? commit!.call(store, q.reservationId, outcome.usage?.[q.resource] ?? q.reserved)
            : release!.call(store, q.reservationId),
        ),
      );
      return true;
    } catch {
      return false; // the store is gone too: the workflow's timeout releases (the usage is not counted)
    }
  }
}

/** Default deadline of the eager report (signal-with-start) before the gateway settles the quota itself. */
const REPORT_DEADLINE_MS = 10_000;

/** The decision an eager operation's workflow takes from these results (state as the gateway knows it). */
function eagerState(input: GovernedOperationInput, results: readonly ReserveQuotaResult[]): OperationState {
  const quotas = input.quotas ?? [];
  const refused = results.flatMap((r, i) => (r.granted ? [] : [{ quota: quotas[i]!, result: r }]));
  const now = new Date().toISOString();
  return {
    ...operationStateHeader(input),
    status: refused.length > 0 ? 'denied' : 'approved',
    decision: refused.length > 0 ? 'deny' : 'allow',
    decisionReason: refused.length > 0 ? 'quota_exceeded' : 'not_required',
    message: refused.length > 0 ? quotaRefusalMessage(refused) : 'within quota; no approval required',
    decidedAt: now,
    approvalRequired: false,
    requiredApprovals: 0,
    approvals: [],
    rejections: [],
    approvers: [],
    escalated: false,
    quotas: results.map((r, i) => ({
      rule: quotas[i]!.rule,
      resource: quotas[i]!.resource,
      reservationId: r.reservationId,
      status: r.granted ? 'reserved' : 'refused',
      reserved: r.reserved,
      used: r.used,
      limit: r.limit,
      overLimit: r.overLimit,
    })),
    closed: false,
  };
}
