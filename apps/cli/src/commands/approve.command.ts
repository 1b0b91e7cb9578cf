// `atom-gov approve --operation op-... --approver alice@company.com [--reason TEXT]` (and `reject`, same flags).
import type { Command } from 'commander';
import type { AtomGovConfig } from '@atom-gov/config';
import { isOperationId } from '@atom-gov/contracts';
import { openAuditForConfig } from '../audit-access.js';
import { CliError } from '../run-cli.js';
import {
  connectGovernance,
  describeOperation,
  EXIT,
  governanceExit,
  isGovernanceError,
  resolveOperator,
} from './governance-cli.js';
import { loadRuntimeConfig, log } from './runtime-parts.js';

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
  const known: RefusalContext = {};
  try {
    return await decide(decision, opts, config, known);
  } catch (error) {
    if (error instanceof CliError && AUDITED_EXITS.has(error.exitCode))
      await auditRefusal(config, decision, opts.operation, known, error.message);
    throw error;
  }
}

/** Refusals this edge audits: not authorised, refused by the operation, not found (not usage slips or outages). */
const AUDITED_EXITS = new Set<number>([EXIT.unauthorised, EXIT.refused, EXIT.notFound]);

/** What is known about the attempt when it was refused (filled in as the checks pass). */
interface RefusalContext {
  tenant?: string;
  user?: string;
  via?: string;
}

async function decide(
  decision: 'approve' | 'reject',
  opts: DecideFlags,
  config: AtomGovConfig,
  known: RefusalContext,
): Promise<string> {
  const operator = resolveOperator(config, opts.apiKey);
  known.via = operator.via;
  known.user = operator.user;
  if (operator.tenant !== undefined) known.tenant = operator.tenant;
  const approver = opts.approver ?? (operator.onBehalf ? undefined : operator.user);
  if (approver === undefined) throw new CliError('--approver ADDRESS is required (whose decision this is)', EXIT.usage);
  if (!operator.onBehalf && approver.toLowerCase() !== operator.user.toLowerCase())
    throw new CliError(`this API key may decide only as ${operator.user}, not ${approver}`, EXIT.unauthorised);
  // From here on the refusal concerns the approver's vote (the key's holder may record it).
  known.user = approver;
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
    if (isGovernanceError(error)) {
      // An operator key bound to no tenant: the refused operation's own tenant, for the audit record.
      if (known.tenant === undefined && error.code !== 'NotFound')
        known.tenant = await gc.state(opts.operation).then(
          (s) => s.tenant,
          () => undefined,
        );
      throw governanceExit(error);
    }
    throw error;
  } finally {
    await gc.close();
  }
}

/**
 * One audit event per refused approve/reject, in the configured audit store (the CLI has no other): the operation,
 * the channel, who tried (never the API key) and why. A failed audit write is reported; the refusal stands.
 */
async function auditRefusal(
  config: AtomGovConfig,
  decision: 'approve' | 'reject',
  operationId: string,
  known: RefusalContext,
  reason: string,
): Promise<void> {
  try {
    const { auditChainOptions } = await import('@atom-gov/audit');
    const store = await openAuditForConfig(config, { storeOptions: auditChainOptions(config.audit) });
    try {
      await store.append({
        time: new Date(),
        tenant: known.tenant ?? config.gateway.anonymous.tenant,
        user: known.user ?? 'unknown',
        server: 'approvals',
        method: 'approvals/decide',
        target: operationId,
        operationId,
        decision: 'deny',
        outcome: 'denied',
        errorMessage: `${decision} refused: ${reason}`,
        intent: 'cli approval refused',
        configVersion: config.version,
        durationMs: 0,
        requestBytes: 0,
        responseBytes: 0,
        notes: ['channel: cli', ...(known.via !== undefined ? [`via: ${known.via}`] : [])],
      });
    } finally {
      await store.close();
    }
  } catch (error) {
    log(`could not audit this refusal: ${(error as Error).message}`);
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
