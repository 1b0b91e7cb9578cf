import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createDataSource } from '@atom-gov/audit';
import type { AtomGovConfig } from '@atom-gov/config';
import type { OperationState } from '@atom-gov/contracts';
import {
  ApprovalLinkError,
  ApprovalLinkSigner,
  type DecisionClient,
  DecisionRefusedError,
  loadLinkKey,
  temporalDecisionClient,
  type ApprovalLinkClaims,
} from '@atom-gov/notify';
import type { DataSource } from 'typeorm';
import { TemporalClientService } from '../temporal/temporal-client.service.js';
import { ApprovalLinkUsesStore } from './approval-link-uses.store.js';

export const APPROVALS_OPTIONS = Symbol('APPROVALS_OPTIONS');

export interface ApprovalsOptions {
  config: AtomGovConfig;
  /** Where decisions go; default: the governed-operation workflow through the gateway's Temporal client. */
  decisions?: DecisionClient;
}

/** A refusal the page renders: HTTP status, title, explanation. */
export class ApprovalPageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LinkView {
  claims: ApprovalLinkClaims;
  state: OperationState;
}

const canonical = (s: string) =>
  s
    .trim()
    .replace(/^mailto:/i, '')
    .toLowerCase();

/** Email approval links: verify, show, decide once. */
@Injectable()
export class ApprovalsService implements OnApplicationShutdown {
  readonly signer: ApprovalLinkSigner;
  private readonly decisions: DecisionClient;
  private db?: Promise<{ ds: DataSource; store: ApprovalLinkUsesStore }>;

  constructor(
    @Inject(APPROVALS_OPTIONS) private readonly options: ApprovalsOptions,
    @Inject(TemporalClientService) temporal: TemporalClientService,
  ) {
    this.signer = new ApprovalLinkSigner(loadLinkKey(options.config.notifications));
    this.decisions = options.decisions ?? temporalDecisionClient(temporal.client);
  }

  newNonce(): string {
    return randomBytes(18).toString('base64url');
  }

  /** GET: checks the link and returns what the page shows. Changes nothing (mail scanners prefetch links). */
  async view(token: string): Promise<LinkView> {
    const claims = this.verify(token);
    const { store } = await this.store();
    if (await store.isUsed(claims.jti)) throw used();
    const state = await this.stateOf(claims);
    return { claims, state };
  }

  /** POST: CSRF checked by the caller; consumes the link, then applies the vote as the workflow's `decide` Update. */
  async decide(token: string, decision: 'approve' | 'reject', reason: string | undefined): Promise<LinkView> {
    const claims = this.verify(token);
    const state = await this.stateOf(claims);
    if (decision === 'reject' && !reason) {
      throw new ApprovalPageError(
        400,
        'A reason is needed',
        'Say why you reject the operation, then press Reject again.',
      );
    }
    const { store } = await this.store();
    const fresh = await store.consume({
      jti: claims.jti,
      tenant: state.tenant,
      operationId: claims.operationId,
      approver: claims.approver,
      decision,
      expiresAt: claims.exp,
    });
    if (!fresh) throw used();
    try {
      const after = await this.decisions.decide(claims.operationId, {
        approver: claims.approver,
        decision,
        ...(reason ? { reason } : {}),
        channel: 'email',
        via: `email-link:${claims.jti}`,
        argsHash: claims.argsHash,
      });
      return { claims, state: after };
    } catch (error) {
      if (error instanceof DecisionRefusedError) throw refusal(error);
      // The vote never reached the workflow: give the link back so the approver can retry.
      await store.release(claims.jti).catch(() => undefined);
      throw new ApprovalPageError(
        503,
        'Try again shortly',
        'The approval service is unreachable; your decision was not recorded.',
      );
    }
  }

  /** The operation's tenant, for audit records of refusals (undefined when it cannot be read). */
  async tenantOf(operationId: string): Promise<string | undefined> {
    return this.decisions.state(operationId).then(
      (s) => s.tenant,
      () => undefined,
    );
  }

  checkCsrf(jti: string, nonce: string | undefined, token: string | undefined): boolean {
    return this.signer.checkCsrf(jti, nonce, token);
  }

  private verify(token: string): ApprovalLinkClaims {
    try {
      return this.signer.verify(token);
    } catch (error) {
      if (!(error instanceof ApprovalLinkError)) throw error;
      switch (error.problem) {
        case 'expired':
          return fail(
            410,
            'This link has expired',
            `${error.message}. Ask for a new approval request if it is still needed.`,
          );
        case 'tampered':
          return fail(403, 'This link is not valid', 'The link was altered or was not issued by this gateway.');
        default:
          return fail(400, 'This is not an approval link', 'Check that the whole link was copied from the email.');
      }
    }
  }

  private async stateOf(claims: ApprovalLinkClaims): Promise<OperationState> {
    let state: OperationState;
    try {
      state = await this.decisions.state(claims.operationId);
    } catch (error) {
      if (error instanceof DecisionRefusedError) throw refusal(error);
      throw new ApprovalPageError(503, 'Try again shortly', 'The approval service is unreachable.');
    }
    if (!state.approvers.map(canonical).includes(canonical(claims.approver))) {
      fail(403, 'Not your approval', `${claims.approver} is not an approver of this operation.`);
    }
    if (state.argsHash !== claims.argsHash) {
      fail(409, 'The request changed', 'This link was for a different call; a new request needs a new approval.');
    }
    if (state.closed || state.decision !== undefined) {
      fail(409, 'Already decided', `The operation is ${state.status}${state.message ? `: ${state.message}` : ''}.`);
    }
    return state;
  }

  private store(): Promise<{ ds: DataSource; store: ApprovalLinkUsesStore }> {
    this.db ??= (async () => {
      const { database } = this.options.config;
      const ds = createDataSource({
        ...(database.url ? { databaseUrl: database.url } : {}),
        sqlitePath: database.sqlitePath,
      });
      await ds.initialize();
      // The audit store normally ran them already; a fresh database (or a gateway started alone) needs them.
      if (await ds.showMigrations()) await ds.runMigrations({ transaction: 'each' });
      return { ds, store: new ApprovalLinkUsesStore(ds) };
    })();
    return this.db.then((d) => d);
  }

  async onApplicationShutdown(): Promise<void> {
    const db = await this.db?.catch(() => undefined);
    if (db?.ds.isInitialized) await db.ds.destroy();
  }
}

function fail(status: number, title: string, message: string): never {
  throw new ApprovalPageError(status, title, message);
}

function used(): ApprovalPageError {
  return new ApprovalPageError(
    410,
    'This link was already used',
    'Each approval link decides once. Your earlier decision stands.',
  );
}

function refusal(error: DecisionRefusedError): ApprovalPageError {
  switch (error.code) {
    case 'NotFound':
      return new ApprovalPageError(404, 'Operation not found', error.message);
    case 'DuplicateVote':
      return new ApprovalPageError(409, 'You already voted', error.message);
    case 'OperationClosed':
      return new ApprovalPageError(409, 'Already decided', error.message);
    case 'UnknownApprover':
    case 'SelfApproval':
    case 'NotAllowed':
      return new ApprovalPageError(403, 'Not allowed', error.message);
    case 'StaleApproval':
      return new ApprovalPageError(409, 'The request changed', error.message);
    default:
      return new ApprovalPageError(400, 'Not accepted', error.message);
  }
}
