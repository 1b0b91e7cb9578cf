import { createHash } from 'node:crypto';
import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  awaitDecisionUpdate,
  decideUpdate,
  DEFAULT_NAMESPACE,
  DEFAULT_TASK_QUEUE,
  GOVERNED_OPERATION_WORKFLOW,
  isOperationId,
  opaqueUserRef,
  reportOutcomeSignal,
  reportOutcomeUpdate,
  reportReservationSignal,
  searchAttributeKeys,
  stateQuery,
  type DecideInput,
  type GovernedOperationInput,
  type OperationOutcome,
  type OperationState,
  type ReservationReport,
} from '@atom-gov/contracts';

/** Stable codes of what can go wrong, for the edges to translate (CLI exit codes, HTTP statuses, Slack text). */
export type GovernanceErrorCode =
  | 'UnknownApprover'
  | 'SelfApproval'
  | 'DuplicateVote'
  | 'OperationClosed'
  | 'StaleApproval'
  | 'InvalidInput'
  | 'NotAllowed'
  | 'OutcomeAlreadyReported'
  | 'NotFound'
  | 'Conflict'
  | 'Unavailable';

export class GovernanceError extends Error {
  constructor(
    readonly code: GovernanceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GovernanceError';
  }
}

/** sha256 over canonical JSON (object keys sorted): the same arguments in any key order give the same hash. */
export function argsHash(args: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(args ?? {}))
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * What makes two calls "the same call" for attaching: the caller, the target, the exact arguments and the policy
 * version. A retried call gets the same key (and so the same workflow id); different arguments need a new approval.
 */
export function operationRequestKey(parts: {
  user: string;
  server: string;
  tool: string;
  argsHash: string;
  policyVersion: string;
}): string {
  return createHash('sha256')
    .update([parts.user, parts.server, parts.tool, parts.argsHash, parts.policyVersion].join('\n'))
    .digest('hex');
}

export interface PendingOperation {
  operationId: string;
  state: OperationState;
}

export interface GovernanceClientOptions {
  client: Client;
  taskQueue?: string;
}

/** Translates Temporal's errors into GovernanceError with a stable code; anything else is Unavailable. */
export function toGovernanceError(error: unknown, operationId: string): GovernanceError {
  if (error instanceof GovernanceError) return error;
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    const type = error.cause.type ?? 'InvalidInput';
    const known: readonly string[] = [
      'UnknownApprover',
      'SelfApproval',
      'DuplicateVote',
      'OperationClosed',
      'StaleApproval',
      'InvalidInput',
      'NotAllowed',
      'OutcomeAlreadyReported',
    ];
    return new GovernanceError(
      (known.includes(type) ? type : 'InvalidInput') as GovernanceErrorCode,
      error.cause.message,
      { cause: error },
    );
  }
  if (error instanceof WorkflowNotFoundError) {
    return new GovernanceError('NotFound', `operation ${operationId} not found`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/workflow execution already completed|already completed/i.test(message)) {
    return new GovernanceError('OperationClosed', `operation ${operationId} is already closed`, { cause: error });
  }
  if (/not found/i.test(message)) {
    return new GovernanceError('NotFound', `operation ${operationId} not found`, { cause: error });
  }
  return new GovernanceError('Unavailable', `Temporal did not answer for ${operationId}: ${message}`, {
    cause: error,
  });
}

/** The fields that make a running operation "this call": memo (hashes) and search attributes (no PII). */
function sameCallFields(input: GovernedOperationInput): Array<[string, string]> {
  return [
    ['tenant', input.tenant],
    ['server', input.server],
    ['tool', input.tool],
    ['requester', opaqueUserRef(input.tenant, input.requester)],
    ['argsHash', input.argsHash],
    ['policyVersion', input.policyVersion],
  ];
}

function searchAttributeOf(d: Awaited<ReturnType<WorkflowHandle['describe']>>, field: string): string | undefined {
  const key = (searchAttributeKeys as Record<string, (typeof searchAttributeKeys)['tenant'] | undefined>)[field];
  const value = key ? d.typedSearchAttributes.get(key) : undefined;
  return typeof value === 'string' ? value : undefined;
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The one way gateway, CLI and slackbot talk to governed operations: start or attach, wait for the decision,
 * decide, query, report the outcome, list what is pending.
 */
export class GovernanceClient {
  readonly taskQueue: string;
  private readonly client: Client;
  private ownedConnection: Connection | undefined;

  constructor(opts: GovernanceClientOptions) {
    this.client = opts.client;
    this.taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  }

  /** Connects to Temporal; close() closes the connection. */
  static async connect(opts: { address: string; namespace?: string; taskQueue?: string }): Promise<GovernanceClient> {
    const connection = await Connection.connect({ address: opts.address }).catch((error: Error) => {
      throw new GovernanceError('Unavailable', `could not connect to Temporal at ${opts.address}: ${error.message}`, {
        cause: error,
      });
    });
    const gc = new GovernanceClient({
      client: new Client({ connection, namespace: opts.namespace ?? DEFAULT_NAMESPACE }),
      ...(opts.taskQueue !== undefined ? { taskQueue: opts.taskQueue } : {}),
    });
    gc.ownedConnection = connection;
    return gc;
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
    this.ownedConnection = undefined;
  }

  private handle(operationId: string): WorkflowHandle {
    if (!isOperationId(operationId)) {
      throw new GovernanceError('InvalidInput', `'${operationId}' is not an operation id (op- and 20 hex digits)`);
    }
    return this.client.workflow.getHandle(operationId);
  }

  /**
   * Starts the operation's workflow, or attaches to the running one with the same id (a retried call), in one
   * round trip (update-with-start), and waits for the decision up to `maxWaitMs` (unset: until decided; 0: return
   * at once, for defer mode). Throws Conflict when the running operation is for other arguments or another tenant.
   */
  async startOrAttach(
    input: GovernedOperationInput,
    opts: { maxWaitMs?: number; untilPending?: boolean } = {},
  ): Promise<OperationState> {
    const start = new WithStartWorkflowOperation(GOVERNED_OPERATION_WORKFLOW, this.startOptions(input));
    let state: OperationState;
    try {
      state = await this.client.workflow.executeUpdateWithStart(awaitDecisionUpdate, {
        args: [
          {
            ...(opts.maxWaitMs !== undefined ? { maxWaitMs: opts.maxWaitMs } : {}),
            ...(opts.untilPending ? { untilPending: true } : {}),
          },
        ],
        startWorkflowOperation: start,
      });
    } catch (error) {
      throw toGovernanceError(error, input.operationId);
    }
    if (
      state.tenant !== input.tenant ||
      state.argsHash !== input.argsHash ||
      state.policyVersion !== input.policyVersion
    ) {
      throw new GovernanceError(
        'Conflict',
        `operation ${input.operationId} exists for another call (tenant, arguments or policy version differ)`,
      );
    }
    return state;
  }

  /**
   * Starts the operation's workflow, or attaches to the running one with the same id, and returns its run id
   * (`firstExecutionRunId`: what the workflow derives its reservation ids from). Resolves once the server has
   * recorded the start: it waits for no worker (the eager, quota-only path). Unlike startOrAttach it cannot compare
   * the running operation's call with this one; the id's 80-bit digest of tenant and request key is the guard.
   */
  async start(input: GovernedOperationInput, opts: { startDelayMs?: number } = {}): Promise<{ runId: string }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // FAIL, not USE_EXISTING: a new operation costs one RPC; only an attaching call pays for the check below.
        const handle = await this.client.workflow.start(GOVERNED_OPERATION_WORKFLOW, {
          ...this.startOptions(input),
          workflowIdConflictPolicy: 'FAIL',
          ...(opts.startDelayMs !== undefined ? { startDelay: opts.startDelayMs } : {}),
        });
        return { runId: handle.firstExecutionRunId };
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw toGovernanceError(error, input.operationId);
      }
      // Attaching (a retried call, or another call whose id digest collides): the running run must be for this call.
      let running: Awaited<ReturnType<WorkflowHandle['describe']>>;
      try {
        running = await this.client.workflow.getHandle(input.operationId).describe();
      } catch (error) {
        throw toGovernanceError(error, input.operationId);
      }
      if (running.status.name === 'RUNNING') {
        const differs = sameCallFields(input).filter(([key, value]) => {
          const got = key in (running.memo ?? {}) ? running.memo?.[key] : searchAttributeOf(running, key);
          return got !== undefined && got !== value;
        });
        if (differs.length > 0) {
          throw new GovernanceError(
            'Conflict',
            `operation ${input.operationId} is running for another call (${differs.map(([k]) => k).join(', ')} differ${differs.length === 1 ? 's' : ''}); this call was not started: retry it after that operation ends, or change the call`,
          );
        }
        // An eager run never continues as new: its run id is the first one, from which the reservation ids derive.
        return { runId: running.runId };
      }
      // It closed between the start and the describe: start again (a new run), at most twice.
      if (attempt >= 3) throw new GovernanceError('Unavailable', `operation ${input.operationId} could not be started`);
    }
  }

  /** The gateway's reservation results for an eager operation: durable once the server has the signal. */
  async signalReservation(operationId: string, report: ReservationReport): Promise<void> {
    try {
      await this.handle(operationId).signal(reportReservationSignal, report);
    } catch (error) {
      throw toGovernanceError(error, operationId);
    }
  }

  /**
   * The one report of a delayed-start eager operation (reservation results, and the outcome when the call ran), by
   * signal-with-start: only a signal-with-start ends a start delay, so the run's first workflow task comes with it.
   * Never starts a run: a closed operation (its run settled by another attempt, or expired) is OperationClosed
   * (reuse policy REJECT_DUPLICATE); a running one gets the signal. Resolves with the signalled run's id.
   */
  async reportEager(
    input: GovernedOperationInput,
    report: ReservationReport | OperationOutcome,
    opts: { startDelayMs?: number; deadlineMs?: number } = {},
  ): Promise<{ runId: string }> {
    // By name: the two signals' argument types differ.
    const signal = ('reservations' in report ? reportReservationSignal : reportOutcomeSignal).name;
    try {
      const send = () =>
        this.client.workflow.signalWithStart(GOVERNED_OPERATION_WORKFLOW, {
          ...this.startOptions(input),
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          ...(opts.startDelayMs !== undefined ? { startDelay: opts.startDelayMs } : {}),
          signal,
          signalArgs: [report],
        });
      // A deadline instead of the client's whole retry schedule: the caller settles another way when it passes.
      const handle =
        opts.deadlineMs !== undefined
          ? await this.client.connection.withDeadline(Date.now() + opts.deadlineMs, send)
          : await send();
      return { runId: handle.signaledRunId };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        throw new GovernanceError('OperationClosed', `operation ${input.operationId} is already closed`, {
          cause: error,
        });
      }
      throw toGovernanceError(error, input.operationId);
    }
  }

  /** Start options shared by start() and startOrAttach(): same id, conflict policy, search attributes, summary. */
  private startOptions(input: GovernedOperationInput) {
    const requester = opaqueUserRef(input.tenant, input.requester); // a sha256: once, not once per use below
    return {
      workflowId: input.operationId,
      taskQueue: this.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING' as 'USE_EXISTING' | 'FAIL',
      // What an attaching call compares beyond the id (start()); hashes only, no PII (the memo shows in the UI).
      memo: { argsHash: input.argsHash, policyVersion: input.policyVersion },
      // Set at start so the operation is findable before its first workflow task runs; the workflow upserts them too.
      typedSearchAttributes: [
        { key: searchAttributeKeys.tenant, value: input.tenant },
        { key: searchAttributeKeys.server, value: input.server },
        { key: searchAttributeKeys.tool, value: input.tool },
        { key: searchAttributeKeys.requester, value: requester },
        { key: searchAttributeKeys.policy, value: input.policy },
        { key: searchAttributeKeys.status, value: 'reserving' },
      ],
      staticSummary: `${input.tool} on ${input.server} (tenant ${input.tenant}, policy ${input.policy})`,
      staticDetails: [
        `Governed call of \`${input.tool}\` on \`${input.server}\``,
        `- tenant: ${input.tenant}`,
        `- requester: ${requester}`,
        `- policy: ${input.policy} (config ${input.policyVersion.slice(0, 12)})`,
        `- arguments (redacted): ${input.redactedArgs}`,
        `- requested at: ${input.requestedAt}`,
      ].join('\n'),
    };
  }

  /** Waits for the decision (or `maxWaitMs`); a closed operation answers with its final state. */
  async awaitDecision(operationId: string, opts: { maxWaitMs?: number } = {}): Promise<OperationState> {
    const handle = this.handle(operationId);
    try {
      return await handle.executeUpdate(awaitDecisionUpdate, {
        args: [opts.maxWaitMs !== undefined ? { maxWaitMs: opts.maxWaitMs } : {}],
      });
    } catch (error) {
      const e = await this.closedOr(handle, toGovernanceError(error, operationId));
      if (e.code === 'OperationClosed') return this.state(operationId);
      throw e;
    }
  }

  /** An approver's vote. Throws GovernanceError with the validator's code when refused. */
  async decide(operationId: string, vote: DecideInput): Promise<OperationState> {
    const handle = this.handle(operationId);
    try {
      return await handle.executeUpdate(decideUpdate, { args: [vote] });
    } catch (error) {
      throw await this.closedOr(handle, toGovernanceError(error, operationId));
    }
  }

  /** An update to a finished run answers "not found"; tell that apart from an id that never existed. */
  private async closedOr(handle: WorkflowHandle, e: GovernanceError): Promise<GovernanceError> {
    if (e.code !== 'NotFound') return e;
    const exists = await handle.describe().then(
      () => true,
      () => false,
    );
    return exists
      ? new GovernanceError('OperationClosed', `operation ${handle.workflowId} is already closed`, { cause: e })
      : e;
  }

  /** The operation's state; for a closed operation, its final state (the workflow result). */
  async state(operationId: string): Promise<OperationState> {
    const handle = this.handle(operationId);
    try {
      const d = await handle.describe();
      if (d.status.name === 'COMPLETED') return (await handle.result()) as OperationState;
      return await handle.query(stateQuery);
    } catch (error) {
      throw toGovernanceError(error, operationId);
    }
  }

  /** The gateway's report after the call (or that it will not call: `cancelled`). */
  async reportOutcome(operationId: string, outcome: OperationOutcome): Promise<OperationState> {
    const handle = this.handle(operationId);
    try {
      return await handle.executeUpdate(reportOutcomeUpdate, { args: [outcome] });
    } catch (error) {
      throw await this.closedOr(handle, toGovernanceError(error, operationId));
    }
  }

  /**
   * The outcome as a signal: resolves once Temporal has it durably, without waiting for the worker to commit the
   * quota (the gateway's answer to its caller does not wait either). An outcome the workflow would refuse is ignored.
   */
  async signalOutcome(operationId: string, outcome: OperationOutcome): Promise<void> {
    try {
      await this.handle(operationId).signal(reportOutcomeSignal, outcome);
    } catch (error) {
      throw toGovernanceError(error, operationId);
    }
  }

  /** Cancels the operation (the workflow releases its reservations and records the cancellation). */
  async cancel(operationId: string): Promise<void> {
    try {
      await this.handle(operationId).cancel();
    } catch (error) {
      throw toGovernanceError(error, operationId);
    }
  }

  /** Resolves with the final state once the workflow has finished. */
  async result(operationId: string): Promise<OperationState> {
    try {
      return (await this.handle(operationId).result()) as OperationState;
    } catch (error) {
      throw toGovernanceError(error, operationId);
    }
  }

  /**
   * Operations waiting for approval, newest first, from Temporal visibility (search attributes; eventually
   * consistent: a just-started operation may take a moment to appear). Tenant-scoped when `tenant` is given.
   */
  async listPending(opts: { tenant?: string; limit?: number } = {}): Promise<PendingOperation[]> {
    const clauses = [
      `WorkflowType = ${quote(GOVERNED_OPERATION_WORKFLOW)}`,
      `ExecutionStatus = 'Running'`,
      `AtomStatus = 'pending'`,
      ...(opts.tenant !== undefined ? [`AtomTenant = ${quote(opts.tenant)}`] : []),
    ];
    const limit = opts.limit ?? 100;
    const ids: string[] = [];
    try {
      for await (const wf of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
        ids.push(wf.workflowId);
        if (ids.length >= limit) break;
      }
    } catch (error) {
      throw toGovernanceError(error, 'pending list');
    }
    const states = await Promise.all(
      ids.map(async (operationId) => {
        try {
          return { operationId, state: await this.client.workflow.getHandle(operationId).query(stateQuery) };
        } catch {
          return undefined; // closed between list and query
        }
      }),
    );
    return states.filter((s): s is PendingOperation => s !== undefined && s.state.status === 'pending');
  }
}
