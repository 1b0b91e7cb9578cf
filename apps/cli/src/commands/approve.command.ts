// `atom-gov approve --operation op-... --approver alice@company.com [--reason TEXT]` (and `reject`, same flags).
import type { Command } from 'commander';
import { isOperationId } from '@atom-gov/contracts';
import { CliError } from '../run-cli.js';
import {
  connectGovernance,
  describeOperation,
  EXIT,
  governanceExit,
  isGovernanceError,
  resolveOperator,
} from './governance-cli.js';
import { loadRuntimeConfig } from './runtime-parts.js';

interface DecideFlags {
  config?: string;
  dataDir?: string;
  operation: string;
  approver?: string;
  reason?: string;
  apiKey?: string;
}

export async function decideFromCli(decision: 'approve' | 'reject', opts: DecideFlags): Promise<string> {
  if (!isOperationId(opts.operation))
    throw new CliError(
      `--operation '${opts.operation}' is not an operation id (op- followed by 20 hex digits; see \`atom-gov pending\`)`,
      EXIT.usage,
    );
  if (decision === 'reject' && (opts.reason === undefined || opts.reason.trim() === ''))
    throw new CliError('reject needs --reason TEXT (the requester is told why)', EXIT.usage);
  const config = await loadRuntimeConfig({ config: opts.config, dataDir: opts.dataDir });
  const operator = resolveOperator(config, opts.apiKey);
  const approver = opts.approver ?? (operator.onBehalf ? undefined : operator.user);
  if (approver === undefined) throw new CliError('--approver ADDRESS is required (whose decision this is)', EXIT.usage);
  if (!operator.onBehalf && approver.toLowerCase() !== operator.user.toLowerCase())
    throw new CliError(`this API key may decide only as ${operator.user}, not ${approver}`, EXIT.unauthorised);
  const gc = await connectGovernance(config);
  try {
    if (operator.tenant !== undefined) {
      const current = await gc.state(opts.operation);
      if (current.tenant !== operator.tenant)
        throw new CliError(`operation ${opts.operation} is not in tenant ${operator.tenant}`, EXIT.notFound);
    }
    const state = await gc.decide(opts.operation, {
      approver,
      decision,
      channel: 'cli',
      via: operator.via,
      // An operator records someone else's decision: only the listed approver identity counts, not the operator's roles.
      roles: operator.onBehalf ? [] : operator.roles,
      ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    });
    return describeOperation(state);
  } catch (error) {
    if (isGovernanceError(error)) throw governanceExit(error);
    throw error;
  } finally {
    await gc.close();
  }
}

export function register(program: Command): void {
  const decision = 'approve' as const;
  program
    .command(decision)
    .description(`${decision} a governed operation waiting for approval`)
    .requiredOption('--operation <id>', 'operation id (op-...)')
    .option('--approver <address>', 'whose decision this is (an approver of the operation)')
    .option('--reason <text>', 'why (optional)')
    .option('--api-key <key>', 'operator API key (or ATOM_GOV_API_KEY)')
    .option('--config <file>', 'configuration file')
    .option('--data-dir <dir>', 'data directory')
    .action(async (opts: DecideFlags) => {
      process.stdout.write(`${await decideFromCli(decision, opts)}\n`);
    });
}
