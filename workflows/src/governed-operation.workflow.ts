import {
  ApplicationFailure,
  CancellationScope,
  condition,
  allHandlersFinished,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  awaitDecisionUpdate,
  decideUpdate,
  GovernanceErrorType,
  operationStateHeader,
  outcomeTimeoutMsOf,
  quotaRefusalMessage,
  quotaReservationId,
  reportOutcomeSignal,
  reportOutcomeUpdate,
  reportReservationSignal,
  searchAttributeKeys,
  stateQuery,
  type DecideInput,
  type DecisionReason,
  type GovernedOperationActivities,
  type GovernedOperationInput,
  type NotificationKind,
  type OperationAuditRecord,
  type OperationOutcome,
  type OperationState,
  type OperationStatus,
  type QuotaParams,
  type ReservationReport,
  type ReserveQuotaResult,
  type Vote,
} from '@atom-gov/contracts';
import {
  canonicalIdentity,
  describeState,
  isAllowedApprover,
  notificationText,
  outcomeMessage,
} from './governed-operation.helpers.js';

// Store operations are idempotent (reservation id, audit id), so they may retry until the store answers again:
// a release or an audit record must never be dropped because the database blinked. Local activities: they run in
// the worker that runs the workflow task, without a round trip through the server per step, which is most of the
// latency a quota-only governed call adds.
const store = proxyLocalActivities<Pick<GovernedOperationActivities, 'reserveQuota' | 'commitQuota' | 'releaseQuota'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '30 seconds' },
});
const audit = proxyLocalActivities<Pick<GovernedOperationActivities, 'recordAudit' | 'recordAuditBatch'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '30 seconds' },
});
// Delayed-start operations end with one local activity: audit records, commits and releases together.
const settler = proxyLocalActivities<Pick<GovernedOperationActivities, 'settleOperation'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '30 seconds' },
});
// Bounded: a channel that is down must not hold an approval; the failure is audited instead.
const notifier = proxyActivities<Pick<GovernedOperationActivities, 'notify'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

const CHANNELS = new Set(['slack', 'email', 'cli', 'ui']);

function fail(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

/**
 * One governed call: reserve quota, collect approvals, wait for the gateway's outcome report, then commit or
 * release the reservation. Every audit record and notification goes through activities with idempotent keys.
 */
export async function governedOperation(input: GovernedOperationInput): Promise<OperationState> {
  const startedAt = Date.now(); // workflow time: deterministic on replay
  const approval = input.approval;
  const requesterId = canonicalIdentity(input.requester);
  const state: OperationState = {
    ...operationStateHeader(input),
    status: 'reserving',
    approvalRequired: approval !== undefined,
    requiredApprovals: approval?.minApprovals ?? 0,
    approvals: [],
    rejections: [],
    approvers: approval ? [...approval.approvers] : [],
    escalated: false,
    ...(approval ? { deadline: new Date(startedAt + approval.timeoutMs).toISOString() } : {}),
    quotas: [],
    closed: false,
  };
  let outcome: OperationOutcome | undefined;
  /** Some caller received the final decision through awaitDecision. */
  let decisionDelivered = false;
  const background: Array<Promise<unknown>> = [];
  // JSON copy: handlers must not hand out the live object, and structuredClone is not a workflow-sandbox global.
  const snapshot = (): OperationState => JSON.parse(JSON.stringify(state)) as OperationState;
  const decided = (): boolean => state.decision !== undefined;

  const baseRecord = (): Omit<OperationAuditRecord, 'id' | 'event' | 'decision' | 'outcome' | 'intent'> => ({
    time: new Date().toISOString(),
    tenant: input.tenant,
    user: input.requester,
    ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
    server: input.server,
    method: input.method ?? 'tools/call',
    target: input.tool,
    policy: input.policy,
    rules: input.rules ?? [input.policy],
    configVersion: input.policyVersion,
    durationMs: 0,
    requestBytes: 0,
    responseBytes: 0,
    argsSummary: input.redactedArgs,
    operationId: input.operationId,
  });
  // Without an approval the caller is waiting on the first workflow task, and a local activity in flight holds that
  // task open: the quota-only path keeps its audit records (durable in history meanwhile) until the decision is
  // out, then writes them with the outcome's.
  let holdAudit = !approval;
  // The same call repeated after its operation closed starts a new run under the same workflow id: its audit
  // records and reservations need keys of their own, or the idempotent stores would take them for the old run's
  // (records dropped as duplicates, and a hard quota granted again from the old, already committed reservation).
  const runKey = `${input.operationId}:${workflowInfo().firstExecutionRunId}`;
  const reservationIdOf = (i: number, quota: QuotaParams): string =>
    quotaReservationId(input.operationId, workflowInfo().firstExecutionRunId, i, quota);
  const held: OperationAuditRecord[] = [];
  // A held record needs no promise of its own: every sandbox promise costs a stack capture (the SDK's promise hook),
  // and the quota-only path holds all of its records.
  const heldDone: Promise<void> = Promise.resolve();
  const record = (
    key: string,
    event: OperationAuditRecord['event'],
    fields: Pick<OperationAuditRecord, 'decision' | 'outcome' | 'intent'> & Partial<OperationAuditRecord>,
  ): Promise<void> => {
    const r: OperationAuditRecord = { ...baseRecord(), ...fields, id: `${runKey}:${key}`, event };
    if (holdAudit) {
      held.push(r);
      return heldDone;
    }
    return audit.recordAudit(r);
  };
  const flushAudit = (): void => {
    holdAudit = false;
    // One local activity for all held records (one marker, one round trip), not one per record.
    const batch = held.splice(0);
    if (batch.length === 1) inBackground(audit.recordAudit(batch[0] as OperationAuditRecord));
    else if (batch.length > 1) inBackground(audit.recordAuditBatch(batch));
  };

  let notifications = 0;
  const notify = (kind: NotificationKind, target: string, key: string): Promise<void> => {
    const request = {
      id: `${input.operationId}:${kind}:${target}:${key}`,
      kind,
      target,
      state: snapshot(),
      text: notificationText(kind, state),
    };
    notifications += 1;
    const n = notifications;
    return notifier.notify(request).then(
      () => undefined,
      (error: unknown) => {
        if (isCancellation(error)) throw error;
        // A channel that failed is audited and never fails the approval.
        log.warn('notification failed', { target, kind, error: String(error) });
        return record(`notification_failed:${n}`, 'notification_failed', {
          decision: 'governed',
          outcome: 'error',
          errorMessage: `notification ${kind} to ${target} failed: ${error instanceof Error ? error.message : String(error)}`,
          intent: `notify ${target}`,
        });
      },
    );
  };
  const inBackground = (p: Promise<unknown>): void => {
    if (p !== heldDone) background.push(p);
  };

  // A delayed-start eager report that carries its outcome settles in the same task: the intermediate 'approved' is
  // not published (one upsert per operation instead of two; the final status follows in this task).
  let quietPublish = false;
  // Each upsert is a visibility write on the server (most of a dev server's work per operation): only changes.
  const publish = (status: OperationStatus): void => {
    state.status = status;
    if (quietPublish) return;
    const changed = [
      { key: searchAttributeKeys.status, value: status },
      ...(state.decision ? [{ key: searchAttributeKeys.decision, value: state.decision }] : []),
    ].filter(({ key, value }) => workflowInfo().typedSearchAttributes.get(key) !== value);
    if (changed.length > 0) upsertSearchAttributes(changed);
    setCurrentDetails(describeState(state));
  };

  // --- handlers first: an update may arrive in the same task as the start (update-with-start) ---
  setHandler(stateQuery, snapshot);

  // Eager (quota-only) operations: the gateway reserved and reports here. Set before the outcome signal's handler:
  // signals that arrived before the first workflow task (worker down) are dispatched in handler registration
  // order, and an outcome is only accepted after the decision this report makes.
  // Only without an approval: an approval's quota is reserved here, before anyone is asked.
  const eager = input.eagerReservation === true && !approval;
  let reservationReported = false;
  setHandler(reportReservationSignal, (report: ReservationReport) => {
    const quotas = input.quotas ?? [];
    const results = (report as Partial<ReservationReport> | null)?.reservations;
    if (!eager || reservationReported || decided() || state.closed) {
      log.warn('reservation report ignored: not expected now', { operationId: input.operationId });
      return;
    }
    if (
      !Array.isArray(results) ||
      results.length !== quotas.length ||
      results.some((r, i) => typeof r !== 'object' || r === null || r.reservationId !== reservationIdOf(i, quotas[i]!))
    ) {
      log.warn('reservation report ignored: malformed', { operationId: input.operationId });
      return;
    }
    reservationReported = true;
    // The outcome folded into the report (delayedStart): validated as the outcome signal would be, after the decision.
    const folded = input.delayedStart === true ? report.outcome : undefined;
    quietPublish = folded !== undefined;
    applyReservations(quotas.map((quota, i) => ({ quota, r: results[i]! })));
    if (!decided()) decide('allow', 'not_required', 'within quota; no approval required');
    quietPublish = false;
    if (folded === undefined) return;
    acceptOutcomeSignal(folded);
    if (outcome === undefined) publish(state.status); // refused outcome: the decision is published after all
  });

  setHandler(
    decideUpdate,
    (vote: DecideInput) => {
      const approverId = canonicalIdentity(vote.approver);
      const v: Vote = {
        approver: approverId,
        decision: vote.decision,
        channel: vote.channel,
        at: new Date().toISOString(),
        ...(vote.reason !== undefined && vote.reason !== '' ? { reason: vote.reason } : {}),
        ...(vote.via !== undefined ? { via: vote.via } : {}),
      };
      if (vote.decision === 'approve') state.approvals.push(v);
      else state.rejections.push(v);
      inBackground(
        record(`vote:${approverId}`, 'vote', {
          decision: 'governed',
          outcome: vote.decision === 'approve' ? 'ok' : 'denied',
          intent: `${vote.decision} by ${approverId} via ${vote.channel}${v.reason ? `: ${v.reason}` : ''}`,
        }),
      );
      if (vote.decision === 'reject') {
        decide('deny', 'rejected', `rejected by ${approverId}${v.reason ? `: ${v.reason}` : ''}`);
      } else if (state.approvals.length >= state.requiredApprovals) {
        decide('allow', 'approved', `approved by ${state.approvals.map((a) => a.approver).join(', ')}`);
      } else {
        setCurrentDetails(describeState(state));
      }
      return snapshot();
    },
    {
      // Synchronous on purpose: an async validator never rejects.
      validator: (vote: DecideInput) => {
        if (typeof vote !== 'object' || vote === null) fail(GovernanceErrorType.invalidInput, 'decision input missing');
        if (typeof vote.approver !== 'string' || vote.approver.trim() === '')
          fail(GovernanceErrorType.invalidInput, 'approver is required');
        if (vote.decision !== 'approve' && vote.decision !== 'reject')
          fail(GovernanceErrorType.invalidInput, `decision must be approve or reject, got ${String(vote.decision)}`);
        if (!CHANNELS.has(vote.channel))
          fail(
            GovernanceErrorType.invalidInput,
            `channel must be slack, email, cli or ui, got ${String(vote.channel)}`,
          );
        if (!approval) fail(GovernanceErrorType.notAllowed, `operation ${input.operationId} needs no approval`);
        if (decided() || state.closed)
          fail(
            GovernanceErrorType.operationClosed,
            `operation ${input.operationId} is already decided (${state.decisionReason ?? state.status})`,
          );
        if (vote.argsHash !== undefined && vote.argsHash !== input.argsHash)
          fail(GovernanceErrorType.staleApproval, 'the approval was for different arguments; ask for a new approval');
        const approverId = canonicalIdentity(vote.approver);
        if (approverId === requesterId && vote.decision === 'approve')
          fail(GovernanceErrorType.selfApproval, `${approverId} requested this operation and cannot approve it`);
        if (!isAllowedApprover(approverId, vote, state.approvers, approval))
          fail(GovernanceErrorType.unknownApprover, `${approverId} is not an approver of ${input.operationId}`);
        if ([...state.approvals, ...state.rejections].some((x) => x.approver === approverId))
          fail(GovernanceErrorType.duplicateVote, `${approverId} has already voted on ${input.operationId}`);
      },
    },
  );

  setHandler(awaitDecisionUpdate, async ({ maxWaitMs, untilPending } = {}) => {
    const ready = untilPending === true ? () => decided() || state.status === 'pending' : decided;
    // Without an approval the decision follows the reservation in the same workflow task: a timer for maxWaitMs
    // would only add two events and a server timer task to every quota-only call.
    if (maxWaitMs === undefined || (untilPending === true && !approval)) await condition(ready);
    else await condition(ready, maxWaitMs);
    // A deferred caller has now been told the decision (see the denial wait below).
    if (decided()) decisionDelivered = true;
    return snapshot();
  });

  // A function declaration: the reservation report's handler (registered above, and run at once for a signal that
  // came with the start) settles through it.
  function acceptOutcome(report: OperationOutcome): void {
    outcome = report;
    state.outcome = report;
    // The caller gave up before a decision: stop asking; the main flow releases the quota.
    if (report.status === 'cancelled' && !decided()) decide('deny', 'cancelled', 'cancelled by the caller');
  }
  function acceptOutcomeSignal(report: OperationOutcome): void {
    try {
      validateOutcome(report);
    } catch (error) {
      log.warn('outcome signal ignored', { error: String(error) });
      return;
    }
    acceptOutcome(report);
  }
  setHandler(reportOutcomeSignal, acceptOutcomeSignal);
  setHandler(
    reportOutcomeUpdate,
    (report: OperationOutcome) => {
      acceptOutcome(report);
      return snapshot();
    },
    { validator: (report: OperationOutcome) => validateOutcome(report) },
  );

  function validateOutcome(report: OperationOutcome): void {
    if (typeof report !== 'object' || report === null || !['succeeded', 'failed', 'cancelled'].includes(report.status))
      fail(GovernanceErrorType.invalidInput, 'outcome status must be succeeded, failed or cancelled');
    if (outcome !== undefined || state.closed)
      fail(GovernanceErrorType.outcomeAlreadyReported, `operation ${input.operationId} already has its outcome`);
    // A cancellation may come at any time (the caller went away); a call result only after an allow.
    if (report.status !== 'cancelled' && state.decision !== 'allow')
      fail(GovernanceErrorType.notAllowed, `operation ${input.operationId} is not allowed (${state.status})`);
    if (state.decision === 'deny')
      fail(GovernanceErrorType.operationClosed, `operation ${input.operationId} was denied`);
  }

  function decide(decision: 'allow' | 'deny', reason: DecisionReason, message: string): void {
    if (decided()) return;
    state.decision = decision;
    state.decisionReason = reason;
    state.message = message;
    state.decidedAt = new Date().toISOString();
    publish(decision === 'allow' ? 'approved' : 'denied');
    inBackground(
      record('decided', 'decided', {
        decision: decision === 'allow' ? 'allow' : 'deny',
        outcome: decision === 'allow' ? 'ok' : reason.startsWith('timeout') ? 'timeout' : 'denied',
        intent: message,
      }),
    );
    if (approval) for (const t of approval.notify) inBackground(notify('operation_decided', t, 'final'));
  }

  // --- the saga: compensations registered before the reservations are awaited ---
  const compensations: Array<() => Promise<void>> = [];
  /** Eager operations: every reservation id this run can have (the gateway's reserve used them). */
  const eagerIds: string[] = [];
  const releaseAll = async (): Promise<void> => {
    await CancellationScope.nonCancellable(async () => {
      await Promise.all(compensations.splice(0).map((c) => c()));
    });
    for (const q of state.quotas) if (q.status === 'reserved') q.status = 'released';
  };

  // The client sets these at start (typedSearchAttributes); upsert only what a starter left out.
  const identityAttributes = [
    { key: searchAttributeKeys.tenant, value: input.tenant },
    { key: searchAttributeKeys.server, value: input.server },
    { key: searchAttributeKeys.tool, value: input.tool },
    { key: searchAttributeKeys.requester, value: state.requesterRef },
    { key: searchAttributeKeys.policy, value: input.policy },
  ].filter(({ key, value }) => workflowInfo().typedSearchAttributes.get(key) !== value);
  if (identityAttributes.length > 0) upsertSearchAttributes(identityAttributes);
  // An eager operation's report may have been handled already (signals buffered before the first task).
  if (!decided()) publish('reserving');
  inBackground(
    record('requested', 'requested', { decision: 'governed', outcome: 'ok', intent: `governed by ${input.policy}` }),
  );

  const expire = async (message: string): Promise<void> => {
    flushAudit();
    await releaseAll();
    state.message = message;
    publish('expired');
    inBackground(
      record('expired', 'expired', {
        decision: state.decision === 'allow' ? 'allow' : 'governed',
        outcome: 'timeout',
        intent: state.message ?? '',
      }),
    );
  };
  const NOT_CALLED_IN_TIME = 'allowed, but the call was not made in time; reservation released';

  try {
    const timeoutMs = outcomeTimeoutMsOf(input);
    if (eager) {
      // The gateway reserves these ids itself: their compensation is registered before its report is awaited, so
      // a gateway that dies after reserving leaves nothing held past the timeout (release of an id never
      // reserved tombstones it, so a late reserve cannot take it either). One wait, one timer: the report (allow or
      // deny) and, when allowed, the outcome.
      (input.quotas ?? []).forEach((quota, i) => {
        const reservationId = reservationIdOf(i, quota);
        eagerIds.push(reservationId);
        compensations.push(() => store.releaseQuota({ reservationId }));
      });
      const over = (): boolean => state.decision === 'deny' || (state.decision === 'allow' && outcome !== undefined);
      // A delayed start counts the timeout from the run's start (its first task comes with the report, or at the end
      // of the delay with nothing left to wait for), and starts no timer when the report is already here.
      const waitMs = timeoutMs - (Date.now() - workflowInfo().runStartTime.getTime());
      const ended =
        input.delayedStart === true
          ? over() || (waitMs > 0 && (await condition(over, waitMs)))
          : await condition(over, timeoutMs);
      if (!ended)
        await expire(
          decided() ? NOT_CALLED_IN_TIME : 'no quota reservation reported by the gateway in time; reservation released',
        );
      else if (state.decision === 'allow') await settle(outcome as OperationOutcome);
      else await closeDenied();
    } else {
      await reserveQuotas(input.quotas ?? []);
      if (!decided()) {
        if (!approval) decide('allow', 'not_required', 'within quota; no approval required');
        else await collectApprovals();
      }
      if (state.decision === 'allow') {
        const reported = await condition(() => outcome !== undefined, timeoutMs);
        if (!reported) await expire(NOT_CALLED_IN_TIME);
        else await settle(outcome as OperationOutcome);
      } else await closeDenied();
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // Cancelled (gateway gave up, operator cancel): release, audit, and finish as cancelled, non-cancellably.
    await CancellationScope.nonCancellable(async () => {
      flushAudit();
      await releaseAll();
      if (!decided()) {
        state.decision = 'deny';
        state.decisionReason = 'cancelled';
        state.decidedAt = new Date().toISOString();
      }
      state.message = 'cancelled';
      publish('cancelled');
      await record('cancelled', 'outcome', { decision: 'governed', outcome: 'cancelled', intent: 'cancelled' });
      await Promise.allSettled(background);
    });
    state.closed = true;
    return snapshot();
  }

  flushAudit();
  // Skipped when there is nothing to wait for (the quota-only path): fewer sandbox promises per operation.
  if (background.length > 0) await Promise.allSettled(background);
  state.closed = true;
  // Let in-flight awaitDecision / decide calls return before the run closes.
  if (!allHandlersFinished()) await condition(allHandlersFinished);
  return snapshot();

  /** Delayed start: the held audit records and these commits or releases, in one non-cancellable local activity. */
  async function settleAtOnce(change: {
    commits?: Array<{ reservationId: string; used: number }>;
    releases?: string[];
  }) {
    holdAudit = false;
    const records = held.splice(0);
    await CancellationScope.nonCancellable(() => settler.settleOperation({ records, ...change }));
    compensations.length = 0;
  }

  async function closeDenied(): Promise<void> {
    if (input.delayedStart === true) {
      await settleAtOnce({ releases: eagerIds });
      for (const q of state.quotas) if (q.status === 'reserved') q.status = 'released';
    } else {
      flushAudit();
      await releaseAll();
    }
    if (state.decisionReason === 'cancelled') publish('cancelled');
    else if (input.approvalMode === 'defer' && !decisionDelivered) {
      // A deferred caller learns the decision by repeating the call: stay open (reservation already released) so
      // that call attaches here and hears who denied it, instead of starting a fresh request for approval.
      await condition(() => decisionDelivered, outcomeTimeoutMsOf(input));
    }
  }

  async function reserveQuotas(quotas: readonly QuotaParams[]): Promise<void> {
    if (quotas.length === 0) return;
    const at = input.requestedAt;
    const results = await Promise.all(
      quotas.map(async (quota, i) => {
        const reservationId = reservationIdOf(i, quota);
        compensations.push(() => store.releaseQuota({ reservationId }));
        const r = await store.reserveQuota({
          reservationId,
          tenant: input.tenant,
          operationId: input.operationId,
          quota,
          at,
        });
        recordReservation(quota, r);
        return { quota, r };
      }),
    );
    decideOnRefusals(results);
  }

  /** Reservations made by the gateway (eager): recorded, alerted and decided on as if reserved here. */
  function applyReservations(results: Array<{ quota: QuotaParams; r: ReserveQuotaResult }>): void {
    for (const { quota, r } of results) recordReservation(quota, r);
    decideOnRefusals(results);
  }

  function recordReservation(quota: QuotaParams, r: ReserveQuotaResult): void {
    state.quotas.push({
      rule: quota.rule,
      resource: quota.resource,
      reservationId: r.reservationId,
      status: r.granted ? 'reserved' : 'refused',
      reserved: r.reserved,
      used: r.used,
      limit: r.limit,
      overLimit: r.overLimit,
    });
    if (r.alert) {
      for (const t of quota.notify ?? []) inBackground(notify('quota_alert', t, r.periodStart));
    }
  }

  function decideOnRefusals(results: Array<{ quota: QuotaParams; r: ReserveQuotaResult }>): void {
    const refused = results.filter(({ r }) => !r.granted);
    if (refused.length > 0) {
      const msg = quotaRefusalMessage(refused.map(({ quota, r }) => ({ quota, result: r })));
      inBackground(record('quota_refused', 'quota_refused', { decision: 'deny', outcome: 'denied', intent: msg }));
      decide('deny', 'quota_exceeded', msg);
    }
  }

  async function collectApprovals(): Promise<void> {
    if (!approval) return;
    publish('pending');
    for (const t of [...approval.approvers, ...approval.notify])
      inBackground(notify('approval_requested', t, 'initial'));
    const escalation = approval.escalation;
    if (escalation) {
      inBackground(
        (async () => {
          if (await condition(decided, escalation.afterMs)) return;
          state.escalated = true;
          for (const a of escalation.approvers) if (!state.approvers.includes(a)) state.approvers.push(a);
          setCurrentDetails(describeState(state));
          await Promise.all([
            record('escalated', 'escalated', {
              decision: 'governed',
              outcome: 'ok',
              intent: `escalated to ${escalation.approvers.join(', ')}`,
            }),
            ...[...escalation.approvers, ...(escalation.notify ?? [])].map((t) =>
              notify('approval_escalated', t, 'escalation'),
            ),
          ]);
        })(),
      );
    }
    const every = approval.reminderEveryMs;
    if (every !== undefined && every > 0) {
      inBackground(
        (async () => {
          for (let n = 1; !(await condition(decided, every)); n += 1) {
            const voted = new Set([...state.approvals, ...state.rejections].map((v) => v.approver));
            await Promise.all(
              state.approvers
                .filter((a) => !voted.has(canonicalIdentity(a)))
                .map((a) => notify('approval_reminder', a, String(n))),
            );
          }
        })(),
      );
    }
    const inTime = await condition(decided, approval.timeoutMs);
    if (!inTime) {
      const allow = approval.onTimeout === 'allow';
      decide(
        allow ? 'allow' : 'deny',
        allow ? 'timeout_allow' : 'timeout_deny',
        `no decision within ${Math.round(approval.timeoutMs / 1000)} s; ${allow ? 'allowed' : 'denied'} by on_timeout: ${approval.onTimeout}`,
      );
    }
  }

  async function settle(report: OperationOutcome): Promise<void> {
    state.message = outcomeMessage(report);
    inBackground(
      record('outcome', 'outcome', {
        decision: 'allow',
        outcome: report.status === 'succeeded' ? 'ok' : report.status === 'failed' ? 'error' : 'cancelled',
        intent: state.message,
        durationMs: Math.max(0, Math.round(report.durationMs ?? 0)),
        requestBytes: report.requestBytes ?? 0,
        responseBytes: report.responseBytes ?? 0,
        ...(report.errorMessage !== undefined ? { errorMessage: report.errorMessage } : {}),
        ...(report.resultSummary !== undefined ? { resultSummary: report.resultSummary } : {}),
      }),
    );
    if (input.delayedStart === true) {
      // The held records, the outcome's and the commit (or the release) in one local activity.
      const succeeded = report.status === 'succeeded';
      const reserved = state.quotas.filter((q) => q.status === 'reserved');
      const commits = succeeded
        ? reserved.map((q) => ({ reservationId: q.reservationId, used: report.usage?.[q.resource] ?? q.reserved }))
        : [];
      await settleAtOnce(succeeded ? { commits } : { releases: eagerIds });
      reserved.forEach((q, i) => {
        q.status = succeeded ? 'committed' : 'released';
        if (succeeded) q.committed = commits[i]?.used ?? q.reserved;
      });
      publish(report.status);
      return;
    }
    // Quota-only: the held records and the outcome's go as one batch, alongside the commit or release.
    flushAudit();
    if (report.status === 'succeeded') {
      // Commit what was used (the reported usage, or what was reserved), non-cancellably: the call happened.
      await CancellationScope.nonCancellable(async () => {
        await Promise.all(
          state.quotas
            .filter((q) => q.status === 'reserved')
            .map(async (q) => {
              const used = report.usage?.[q.resource] ?? q.reserved;
              await store.commitQuota({ reservationId: q.reservationId, used });
              q.status = 'committed';
              q.committed = used;
            }),
        );
      });
      compensations.length = 0;
    } else {
      await releaseAll();
    }
    publish(report.status);
  }
}
