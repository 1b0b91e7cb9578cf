import {
  decideUpdate,
  GovernanceErrorType,
  stateQuery,
  type DecideInput,
  type OperationState,
} from '@atom-gov/contracts';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';

/** Why the workflow refused a decision: a GovernanceErrorType, or `NotFound` for an unknown operation. */
export type DecisionRefusal = GovernanceErrorType | 'NotFound';

export class DecisionRefusedError extends Error {
  constructor(
    readonly code: DecisionRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'DecisionRefusedError';
  }
}

/** What the approval channels need from the governed-operation workflow. */
export interface DecisionClient {
  /** Applies the vote as the `decide` Update; throws DecisionRefusedError when the workflow refuses it. */
  decide(operationId: string, input: DecideInput): Promise<OperationState>;
  /** The `state` Query; throws DecisionRefusedError('NotFound') for an unknown operation. */
  state(operationId: string): Promise<OperationState>;
}

/** DecisionClient over a Temporal client (workflow id = operation id). */
export function temporalDecisionClient(client: Client): DecisionClient {
  return {
    async decide(operationId, input) {
      try {
        return await client.workflow.getHandle(operationId).executeUpdate(decideUpdate, { args: [input] });
      } catch (error) {
        throw translate(operationId, error);
      }
    },
    async state(operationId) {
      try {
        return await client.workflow.getHandle(operationId).query(stateQuery);
      } catch (error) {
        throw translate(operationId, error);
      }
    },
  };
}

function translate(operationId: string, error: unknown): unknown {
  if (error instanceof WorkflowNotFoundError) {
    return new DecisionRefusedError('NotFound', `operation ${operationId} does not exist`);
  }
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause as { type?: unknown; message?: unknown } | undefined;
    const known = Object.values(GovernanceErrorType) as string[];
    const code = typeof cause?.type === 'string' && known.includes(cause.type) ? cause.type : 'InvalidInput';
    const message = typeof cause?.message === 'string' ? cause.message : error.message;
    return new DecisionRefusedError(code as GovernanceErrorType, message);
  }
  // A closed workflow cannot take updates: the server answers "workflow execution already completed".
  const message = (error as Error | undefined)?.message ?? '';
  if (/already completed|workflow execution.*(completed|closed)/i.test(message)) {
    return new DecisionRefusedError('OperationClosed', `operation ${operationId} is closed`);
  }
  return error;
}
