// Shared by `atom-gov pending|approve|reject`: where Temporal is, who the operator is, how an operation reads.
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { readEnv, type AtomGovConfig } from '@atom-gov/config';
import { type OperationState } from '@atom-gov/contracts';
import type { GovernanceClient, GovernanceError } from '@atom-gov/governance-client';
import { CliError } from '../run-cli.js';

/** Exit codes of the approval commands (documented in apps/cli/README.md). */
export const EXIT = {
  usage: 2,
  unauthorised: 3,
  refused: 4,
  notFound: 5,
  unavailable: 6,
} as const;

export function temporalAddressOf(config: AtomGovConfig): string {
  // Unset: the embedded dev server that `atom-gov start` runs on this machine.
  return config.temporal.address ?? `127.0.0.1:${config.temporal.devServer.port}`;
}

export async function connectGovernance(config: AtomGovConfig): Promise<GovernanceClient> {
  const { GovernanceClient } = await import('@atom-gov/governance-client');
  try {
    return await GovernanceClient.connect({
      address: temporalAddressOf(config),
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
    });
  } catch (error) {
    throw new CliError(
      `${(error as Error).message} (is \`atom-gov start\` running? set temporal.address for a cluster)`,
      EXIT.unavailable,
    );
  }
}

export interface Operator {
  /** Shown in the audit trail as the vote's `via`. */
  via: string;
  tenant?: string;
  roles: string[];
  /** Operators record decisions for the approver named by --approver; others only for themselves. */
  onBehalf: boolean;
  user: string;
}

/**
 * Operator credentials: an API key from `gateway.api_keys` (flag --api-key or ATOM_GOV_API_KEY) whose roles
 * include `operator` (may record any listed approver's decision) or `approver` (may decide as itself). With no
 * API keys configured and a local embedded Temporal, the local Unix user is the operator (a single-user machine).
 */
export function resolveOperator(config: AtomGovConfig, apiKey: string | undefined): Operator {
  const key = apiKey ?? readEnv('ATOM_GOV_API_KEY');
  if (key !== undefined) {
    const digest = createHash('sha256').update(key).digest('hex');
    const entry = config.gateway.apiKeys.find((k) => k.sha256 === digest);
    if (!entry) throw new CliError('the API key is not in gateway.api_keys of the configuration', EXIT.unauthorised);
    const operator = entry.roles.includes('operator');
    if (!operator && !entry.roles.includes('approver')) {
      throw new CliError(
        `API key '${entry.name ?? entry.user}' has neither the operator nor the approver role`,
        EXIT.unauthorised,
      );
    }
    return {
      via: `cli:key:${entry.name ?? entry.user}`,
      tenant: entry.tenant,
      roles: entry.roles,
      onBehalf: operator,
      user: entry.user,
    };
  }
  if (config.gateway.apiKeys.length === 0 && config.temporal.address === undefined) {
    const user = userInfo().username;
    return { via: `cli:unix:${user}`, roles: ['operator'], onBehalf: true, user };
  }
  throw new CliError(
    'operator credentials required: pass --api-key KEY or set ATOM_GOV_API_KEY (a gateway.api_keys entry with role operator or approver)',
    EXIT.unauthorised,
  );
}

/** By name, so that commands need not load @temporalio/client before they run. */
export function isGovernanceError(error: unknown): error is GovernanceError {
  return error instanceof Error && error.name === 'GovernanceError' && 'code' in error;
}

export function governanceExit(error: GovernanceError): CliError {
  const code =
    error.code === 'NotFound'
      ? EXIT.notFound
      : error.code === 'Unavailable'
        ? EXIT.unavailable
        : error.code === 'InvalidInput'
          ? EXIT.usage
          : EXIT.refused;
  return new CliError(`${error.message} [${error.code}]`, code);
}

export function describeOperation(s: OperationState): string {
  const lines = [
    `${s.operationId}  ${s.status}${s.decisionReason ? ` (${s.decisionReason})` : ''}`,
    `  call:      ${s.tool} on ${s.server}  args ${s.redactedArgs}`,
    `  tenant:    ${s.tenant}  requester ${s.requesterRef}  policy ${s.policy}`,
  ];
  if (s.approvalRequired) {
    lines.push(`  approvals: ${s.approvals.length} of ${s.requiredApprovals}  deadline ${s.deadline ?? '-'}`);
    lines.push(`  approvers: ${s.approvers.join(', ') || '(anyone with the approver role)'}`);
    for (const v of [...s.approvals, ...s.rejections]) {
      lines.push(`    ${v.decision} by ${v.approver} via ${v.channel} at ${v.at}${v.reason ? `: ${v.reason}` : ''}`);
    }
  }
  if (s.message) lines.push(`  message:   ${s.message}`);
  return lines.join('\n');
}
