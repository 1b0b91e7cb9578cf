// The governed-operation workflow's contract: what the gateway starts, what approvers send, what the worker runs.
// Imported by workflow code, so everything here is deterministic (no Node built-ins, no I/O, no clock).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** Workflow type name (the function exported by @atom-gov/workflows). */
export const GOVERNED_OPERATION_WORKFLOW = 'governedOperation';

/** Every governed operation's workflow id starts with this (the seed's `op-12345`). */
export const OPERATION_ID_PREFIX = 'op-';

/** Role that lets a caller approve when a rule lists no approvers (policy: `approvers` empty). */
export const DEFAULT_APPROVER_ROLE = 'approver';

function hexDigest(...parts: readonly string[]): string {
  return bytesToHex(sha256(utf8ToBytes(parts.join('\n'))));
}

/**
 * Deterministic workflow id of a governed operation: the same tenant and request key always give the same id,
 * so a retried call attaches to the running operation instead of asking the approvers twice. The request key is
 * whatever identifies "the same call" to the gateway (see `operationRequestKey` in @atom-gov/governance-client:
 * user, server, tool, arguments hash, policy version). 80 bits of sha256: short enough to type, and the client
 * checks tenant and arguments hash on attach, so a collision can never borrow another call's approval.
 */
export function operationWorkflowId(tenant: string, requestKey: string): string {
  if (tenant === '' || requestKey === '') throw new TypeError('operationWorkflowId needs a tenant and a request key');
  return `${OPERATION_ID_PREFIX}${hexDigest('atom-gov/op/v1', tenant, requestKey).slice(0, 20)}`;
}

/** True for strings shaped like an operation id (CLI input checks). */
export function isOperationId(value: string): boolean {
  return /^op-[0-9a-f]{20}$/.test(value);
}

/**
 * Opaque, stable reference for a user inside a tenant: what goes into the AtomRequester search attribute and
 * other places that must not hold PII (user names are often email addresses).
 */
export function opaqueUserRef(tenant: string, user: string): string {
  return `u-${hexDigest('atom-gov/user/v1', tenant, user).slice(0, 16)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Input

/** Escalation: after `afterMs` without a final decision, these approvers may also decide and are notified. */
export interface EscalationParams {
  afterMs: number;
  approvers: string[];
  /** Extra targets told about the escalation (slack://channel, mailto:...). */
  notify?: string[];
}

/**
 * Approval parameters (policy `require_approval`, as in @atom-gov/policy `ApprovalRequirement`, plus channels).
 * Approver entries: an address (`alice@company.com`), a group (`group:ops`), a Slack user (`slack:U0123ABC`).
 * Empty `approvers`: anyone whose verified roles include `approverRole`.
 */
export interface ApprovalParams {
  /** Rule that asked for the approval. */
  rule: string;
  approvers: string[];
  /** Default `approver`. */
  approverRole?: string;
  minApprovals: number;
  timeoutMs: number;
  onTimeout: 'deny' | 'allow';
  escalation?: EscalationParams;
  /** Remind approvers who have not voted every this many ms (unset: no reminders). */
  reminderEveryMs?: number;
  /** Where the request is announced besides the approvers themselves: `slack://ops-channel`, `mailto:x@y`. */
  notify: string[];
}

/** One quota counter to reserve against (policy `QuotaRequirement`, resolved by the gateway to a counter key). */
export interface QuotaParams {
  /** Rule that asked for the quota. */
  rule: string;
  /** What is counted: `api_calls`, `compute_seconds`, `bytes`, `cost_units`, ... */
  resource: string;
  /** Counter scope and its key: `tenant` -> the tenant, `user` -> opaque user ref, `server` -> server name. */
  per: 'user' | 'tenant' | 'server' | 'global';
  scopeKey: string;
  limit: number;
  /** Period length (fixed windows aligned to the epoch); unset: a lifetime quota. */
  periodMs?: number;
  /** Units reserved before the call (1 for api_calls); the outcome's usage replaces it on commit. */
  reserve: number;
  /** hard: refuse over quota; soft/warn: allow and alert. */
  enforcement: 'hard' | 'soft' | 'warn';
  /** Fraction (0..1] of the limit at which to alert, once per period. */
  alertThreshold?: number;
  /** Alert targets for this quota (the rule's `notification:`). */
  notify?: string[];
}

export type ApprovalMode = 'wait' | 'defer';

export interface GovernedOperationInput {
  /** The workflow id (`operationWorkflowId(tenant, requestKey)`), repeated for activities and messages. */
  operationId: string;
  tenant: string;
  /** The caller's user id as the gateway knows it (may be an address: never put it in search attributes). */
  requester: string;
  roles: string[];
  server: string;
  /** MCP method, default `tools/call`. */
  method?: string;
  /** Tool / prompt name or resource URI. */
  tool: string;
  /** sha256 hex of the canonical arguments: an approval binds to exactly these arguments. */
  argsHash: string;
  /** Arguments after PII redaction, shortened for messages (never the raw arguments). */
  redactedArgs: string;
  /** Rule that governs the call (audit `policy`). */
  policy: string;
  /** Config version (sha256 of the normalised config) the decision was taken under. */
  policyVersion: string;
  /** Rules that matched (audit `rules`). */
  rules?: string[];
  sessionId?: string;
  /** Approval required, when set. */
  approval?: ApprovalParams;
  /** Quotas to reserve before anything else. */
  quotas?: QuotaParams[];
  /** ISO time the gateway received the call. */
  requestedAt: string;
  /** wait: the caller waits for the decision; defer: it gets the id at once and repeats the call later. */
  approvalMode: ApprovalMode;
  /** How long an allowed operation waits for the gateway's outcome report before it releases the quota.
   * Default 10 min (wait) / 24 h (defer: the repeated call must arrive within it). */
  outcomeTimeoutMs?: number;
  /**
   * Quota-only calls: the gateway reserves in the shared quota store itself (ids from `quotaReservationId` with
   * this run's first run id) and reports the results with `reportReservationSignal`, so its decision waits for no
   * worker. The workflow does not reserve; it records the reported results, audits, commits or releases as usual,
   * and releases every derived id when no report (or no outcome) arrives within `outcomeTimeoutMs`.
   */
  eagerReservation?: boolean;
  /**
   * Eager operations started with a start delay of the outcome timeout (`eagerStartDelayMs`): no workflow task runs
   * until the gateway's one report arrives by signal-with-start (reservation results and, when allowed, the call's
   * outcome), so a quota-only call costs one workflow task. The outcome timeout counts from the run's start; a
   * gateway that never reports leaves the first task to the end of the delay, which then releases every derived id.
   */
  delayedStart?: boolean;
}

/** How long an allowed operation waits for the outcome report when the input sets no `outcomeTimeoutMs`. */
export const DEFAULT_OUTCOME_TIMEOUT_MS: Readonly<Record<ApprovalMode, number>> = Object.freeze({
  wait: 10 * 60_000,
  defer: 24 * 60 * 60_000,
});

/** The outcome timeout of an operation: its input's, else the mode's default. */
export function outcomeTimeoutMsOf(input: Pick<GovernedOperationInput, 'outcomeTimeoutMs' | 'approvalMode'>): number {
  return input.outcomeTimeoutMs ?? DEFAULT_OUTCOME_TIMEOUT_MS[input.approvalMode];
}

// ---------------------------------------------------------------------------------------------------------------
// State

export type OperationStatus =
  | 'reserving' // reserving quota
  | 'pending' // waiting for approvals
  | 'approved' // allowed; waiting for the gateway to call and report
  | 'denied' // rejected, timed out with deny, or over a hard quota
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'expired'; // allowed, but no outcome report arrived in time (reservation released)

export type DecisionReason =
  | 'approved' // enough approvals
  | 'rejected' // an approver rejected
  | 'timeout_deny'
  | 'timeout_allow'
  | 'quota_exceeded'
  | 'not_required' // no approval needed (quota-only policy)
  | 'cancelled'; // cancelled before a decision

export type ApprovalChannel = 'slack' | 'email' | 'cli' | 'ui';

export interface Vote {
  approver: string;
  decision: 'approve' | 'reject';
  reason?: string;
  channel: ApprovalChannel;
  via?: string;
  /** ISO time the workflow accepted the vote. */
  at: string;
}

export interface QuotaReservationState {
  rule: string;
  resource: string;
  reservationId: string;
  status: 'reserved' | 'refused' | 'committed' | 'released';
  reserved: number;
  /** Usage in the period after this reservation (including it). */
  used: number;
  limit: number;
  /** Over the limit but allowed (soft enforcement). */
  overLimit: boolean;
  committed?: number;
}

export interface OperationOutcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  /** Usage per quota resource (`api_calls: 1`, `compute_seconds: 3.2`); a missing resource commits what was reserved. */
  usage?: Record<string, number>;
  errorMessage?: string;
  durationMs?: number;
  requestBytes?: number;
  responseBytes?: number;
  /** Redacted, shortened result summary for the audit record. */
  resultSummary?: string;
}

export interface OperationState {
  operationId: string;
  tenant: string;
  server: string;
  tool: string;
  requesterRef: string;
  policy: string;
  policyVersion: string;
  argsHash: string;
  redactedArgs: string;
  requestedAt: string;
  status: OperationStatus;
  /** Final decision, once taken. */
  decision?: 'allow' | 'deny';
  decisionReason?: DecisionReason;
  /** Human text for the caller ("rejected by bob@company.com: not during the freeze"). */
  message?: string;
  decidedAt?: string;
  approvalRequired: boolean;
  requiredApprovals: number;
  approvals: Vote[];
  rejections: Vote[];
  /** Who may decide now (includes escalation approvers once escalated). */
  approvers: string[];
  escalated: boolean;
  /** ISO deadline of the approval, when one is required. */
  deadline?: string;
  quotas: QuotaReservationState[];
  outcome?: OperationOutcome;
  /** True once the workflow has nothing left to do but finish. */
  closed: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

export interface DecideInput {
  /** The approver's identity as the channel verified it (address, `slack:U..`, operator name). */
  approver: string;
  decision: 'approve' | 'reject';
  reason?: string;
  channel: ApprovalChannel;
  /** Channel detail for the audit trail: Slack user id, email link id, CLI operator. */
  via?: string;
  /** Groups the channel verified the approver belongs to (match `group:<name>` entries). */
  groups?: string[];
  /** Roles the channel verified (match `approverRole` when the rule lists no approvers). */
  roles?: string[];
  /** When the approver saw a specific call (link, message): it must still be this call. */
  argsHash?: string;
}

export interface AwaitDecisionInput {
  /** Return after this long even if undecided (progress loops); unset: wait for the decision. */
  maxWaitMs?: number;
  /**
   * Also return as soon as the operation waits for approvers (quota reserved, requests sent): the first answer of
   * a call, so the caller learns the operation id at once (defer mode, first progress message) while a quota-only
   * operation still answers with its decision in the same round trip.
   */
  untilPending?: boolean;
}

/**
 * `_meta` key of a governed call's answer when the gateway answers itself (denied, deferred, service unavailable),
 * so programs such as `atom-gov call` tell the cases apart without parsing text. Forwarded results stay untouched.
 */
export const OPERATION_META_KEY = 'io.atom-gov/operation';

export interface OperationMeta {
  operationId: string;
  /** deferred: approval pending (approval_mode defer), repeat the same call; unavailable: Temporal did not answer. */
  status: 'denied' | 'deferred' | 'unavailable';
  decisionReason?: DecisionReason;
  message: string;
}

/** Failure types (ApplicationFailure.type) of rejected updates: stable strings the edges translate. */
export const GovernanceErrorType = {
  unknownApprover: 'UnknownApprover',
  selfApproval: 'SelfApproval',
  duplicateVote: 'DuplicateVote',
  operationClosed: 'OperationClosed',
  staleApproval: 'StaleApproval',
  invalidInput: 'InvalidInput',
  notAllowed: 'NotAllowed',
  outcomeAlreadyReported: 'OutcomeAlreadyReported',
} as const;
export type GovernanceErrorType = (typeof GovernanceErrorType)[keyof typeof GovernanceErrorType];

/** An approver's vote; validated synchronously (unknown approver, self-approval, duplicate, closed). Returns the new state. */
export const decideUpdate = defineUpdate<OperationState, [DecideInput]>('decide');

/** Resolves with the state once the decision is taken (allow or deny), or after `maxWaitMs`. */
export const awaitDecisionUpdate = defineUpdate<OperationState, [AwaitDecisionInput]>('awaitDecision');

/** The gateway's report after the call (or that it will not call): commits or releases quota, audits, ends the workflow. */
export const reportOutcomeUpdate = defineUpdate<OperationState, [OperationOutcome]>('reportOutcome');

/**
 * The same report as a signal: durable once the server has it, without waiting for a worker, so the gateway's
 * answer to the caller does not wait for the quota commit. Ignored (logged) when it would be refused as an update.
 */
export const reportOutcomeSignal = defineSignal<[OperationOutcome]>('reportOutcome');

/** What the gateway reserved for an `eagerReservation` operation: one result per input quota, in input order. */
export interface ReservationReport {
  reservations: ReserveQuotaResult[];
  /**
   * The call's outcome, when the gateway reports both at once (`delayedStart` operations: one signal-with-start after
   * the call instead of a reservation signal during it and an outcome signal after it).
   */
  outcome?: OperationOutcome;
}

/**
 * The gateway's reservation results (eager, quota-only operations): the workflow decides from them (a hard refusal
 * denies, otherwise allow) without reserving itself, and settles at once when the report carries the outcome.
 * Ignored (logged) when malformed, repeated, or not eager.
 */
export const reportReservationSignal = defineSignal<[ReservationReport]>('reportReservation');

/** The operation's state for pages, Slack messages, the CLI and progress notifications. */
export const stateQuery = defineQuery<OperationState>('state');

// ---------------------------------------------------------------------------------------------------------------
// Activities

export type OperationEventKind =
  'requested' | 'quota_refused' | 'vote' | 'escalated' | 'decided' | 'outcome' | 'expired' | 'notification_failed';

/** An audit record written by the workflow (mapped by the activity onto @atom-gov/audit AuditEventInput). */
export interface OperationAuditRecord {
  /** Idempotency key: `<operationId>:<event>[:n]`; writing it twice stores one record. */
  id: string;
  event: OperationEventKind;
  /** ISO time (workflow time). */
  time: string;
  tenant: string;
  user: string;
  sessionId?: string;
  server: string;
  method: string;
  target: string;
  decision: 'allow' | 'deny' | 'governed' | 'error';
  policy: string;
  rules: string[];
  configVersion: string;
  outcome: 'ok' | 'error' | 'denied' | 'timeout' | 'cancelled';
  errorMessage?: string;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  argsSummary?: string;
  resultSummary?: string;
  /** Human summary of the governance event ("approved by alice@company.com via slack"). */
  intent?: string;
  operationId: string;
}

export interface ReserveQuotaInput {
  reservationId: string;
  tenant: string;
  operationId: string;
  quota: QuotaParams;
  /** ISO time that selects the period (the operation's request time, so retries hit the same period). */
  at: string;
}

export interface ReserveQuotaResult {
  reservationId: string;
  granted: boolean;
  reserved: number;
  used: number;
  limit: number;
  overLimit: boolean;
  /** Crossed `alertThreshold` (or the limit) with this reservation, first time this period: alert now. */
  alert: boolean;
  periodStart: string;
}

export type NotificationKind =
  'approval_requested' | 'approval_reminder' | 'approval_escalated' | 'operation_decided' | 'quota_alert';

/** What the operation tells one target; the notifier registry routes by the target's scheme. */
export interface NotificationRequest {
  /** Idempotency key: `<operationId>:<kind>:<target>[:n]`; notifiers may use it to drop duplicates. */
  id: string;
  kind: NotificationKind;
  /** `mailto:a@b`, `a@b`, `slack://channel`, `slack:U0123`, `https://hook`, `group:ops` (resolved by the registry). */
  target: string;
  state: OperationState;
  /** Short text for channels without rich rendering. */
  text: string;
}

export interface NotificationResult {
  delivered: boolean;
  /** Channel-specific handle (Slack ts, SMTP message id) so later messages can update in place. */
  ref?: string;
  detail?: string;
}

/**
 * Reservation id of the operation's `index`-th quota in one run: the workflow and the gateway (eager reservation)
 * derive the same id, so either side's reserve or release of it is idempotent against the other's. Run-scoped: the
 * same call repeated after its operation closed starts a new run and must not hit the old, committed reservation.
 */
export function quotaReservationId(
  operationId: string,
  firstExecutionRunId: string,
  index: number,
  quota: Pick<QuotaParams, 'rule' | 'resource'>,
): string {
  return `${operationId}:${firstExecutionRunId}:q${index}:${quota.rule}:${quota.resource}`;
}

/** The part of an operation's state fixed by its input: what the workflow and the gateway's eager path both show. */
export function operationStateHeader(
  input: GovernedOperationInput,
): Pick<
  OperationState,
  | 'operationId'
  | 'tenant'
  | 'server'
  | 'tool'
  | 'requesterRef'
  | 'policy'
  | 'policyVersion'
  | 'argsHash'
  | 'redactedArgs'
  | 'requestedAt'
> {
  return {
    operationId: input.operationId,
    tenant: input.tenant,
    server: input.server,
    tool: input.tool,
    requesterRef: opaqueUserRef(input.tenant, input.requester),
    policy: input.policy,
    policyVersion: input.policyVersion,
    argsHash: input.argsHash,
    redactedArgs: input.redactedArgs,
    requestedAt: input.requestedAt,
  };
}

/** The counter a quota reserves against: tenant-scoped, per scope key, rule and resource. */
export function quotaCounterKey(tenant: string, quota: QuotaParams): string {
  return [tenant, `${quota.per}:${quota.scopeKey}`, quota.rule, quota.resource].join('|');
}

/** A quota store's reserve request (shape of @atom-gov/audit `QuotaReserveRequest`, kept structural here). */
export interface QuotaStoreReserveRequest {
  reservationId: string;
  tenant: string;
  counterKey: string;
  limit: number;
  periodMs?: number;
  amount: number;
  enforcement: 'hard' | 'soft' | 'warn';
  alertThreshold?: number;
  at: Date;
}

/** A quota store's reserve answer (shape of @atom-gov/audit `QuotaReserveResult`). */
export interface QuotaStoreReserveResult {
  granted: boolean;
  reserved: number;
  used: number;
  limit: number;
  overLimit: boolean;
  alert: boolean;
  periodStart: Date;
}

/**
 * One reservation against the shared quota store, exactly as the worker's `reserveQuota` activity does it and as
 * the gateway does it for eager (quota-only) operations: same counter key, same request, same result shape.
 */
export async function reserveInQuotaStore(
  store: { reserve(request: QuotaStoreReserveRequest): Promise<QuotaStoreReserveResult> },
  { reservationId, tenant, quota, at }: ReserveQuotaInput,
): Promise<ReserveQuotaResult> {
  const r = await store.reserve({
    reservationId,
    tenant,
    counterKey: quotaCounterKey(tenant, quota),
    limit: quota.limit,
    ...(quota.periodMs !== undefined ? { periodMs: quota.periodMs } : {}),
    amount: quota.reserve,
    enforcement: quota.enforcement,
    ...(quota.alertThreshold !== undefined ? { alertThreshold: quota.alertThreshold } : {}),
    at: new Date(at),
  });
  return { ...r, reservationId, periodStart: r.periodStart.toISOString() };
}

/** The denial text of refused reservations: the workflow's decision message and the gateway's answer say the same. */
export function quotaRefusalMessage(
  refused: ReadonlyArray<{
    quota: Pick<QuotaParams, 'rule' | 'resource'>;
    result: Pick<ReserveQuotaResult, 'used' | 'limit'>;
  }>,
): string {
  return refused
    .map(({ quota, result }) => `quota ${quota.resource} of ${quota.rule} exceeded (${result.used}/${result.limit})`)
    .join('; ');
}

/** What `settleOperation` makes durable. */
export interface SettleOperationInput {
  records: OperationAuditRecord[];
  commits?: Array<{ reservationId: string; used: number }>;
  releases?: string[];
}

/** Activities the governed-operation workflow calls (the worker implements them over injected stores). */
export interface GovernedOperationActivities {
  reserveQuota(input: ReserveQuotaInput): Promise<ReserveQuotaResult>;
  /** Idempotent: commits once; a reservation already released stays released. */
  commitQuota(input: { reservationId: string; used: number }): Promise<void>;
  /** Idempotent; also tombstones an id that was never reserved, so a late reserve cannot resurrect it. */
  releaseQuota(input: { reservationId: string }): Promise<void>;
  recordAudit(record: OperationAuditRecord): Promise<void>;
  /** Several records in one activity (each idempotent by its id, as with recordAudit). */
  recordAuditBatch(records: OperationAuditRecord[]): Promise<void>;
  /**
   * The end of an operation in one activity: its audit records, quota commits and releases (each idempotent, as
   * recordAudit, commitQuota and releaseQuota), durable when it resolves. One local activity instead of two or
   * three: one marker event and one workflow activation fewer per operation.
   */
  settleOperation(input: SettleOperationInput): Promise<void>;
  notify(request: NotificationRequest): Promise<NotificationResult>;
}

/**
 * A channel that delivers notifications (Slack, email, webhook). The worker's notifier registry picks the notifier
 * whose `schemes` include the target's scheme (`mailto`, `slack`, `https`, ...; a bare address counts as `mailto`).
 * `send` throws on a delivery failure: the activity retries a bounded number of times, then the workflow audits
 * the failure and carries on (a notification never fails an approval).
 */
export interface Notifier {
  readonly name: string;
  readonly schemes: readonly string[];
  send(request: NotificationRequest): Promise<NotificationResult>;
}
