// `atom-gov audit verify [--tenant T] [--public-key FILE] [--checkpoints FILE] [--format text|json] [--threads N]`
// `atom-gov audit verify --export-public-key FILE`: walks the tamper-evident audit chain and its signed checkpoints
// and reports OK or each problem by kind; exits 1 when there is a problem.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Checkpoint, VerifyReport } from '@atom-gov/audit';
import { type AtomGovConfig, ConfigError, formatIssues, loadConfig } from '@atom-gov/config';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';

export interface AuditVerifyOptions {
  config?: string;
  dataDir?: string;
  tenant?: string;
  publicKey?: string;
  checkpoints?: string;
  exportPublicKey?: string;
  format?: string;
  threads?: string;
}

export interface VerifyOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const FORMATS = ['text', 'json'] as const;
const MAX_THREADS = 16;

/** Runs the verification (or the key export); resolves with the exit code (0 OK, 1 problems). */
export async function auditVerifyCommand(
  opts: AuditVerifyOptions,
  out: VerifyOutput,
  env?: Record<string, string | undefined>,
): Promise<number> {
  const format = opts.format ?? 'text';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new CliError(`--format '${format}' is not one of: ${FORMATS.join(', ')}`, 2);
  }
  if (opts.tenant !== undefined && opts.tenant.trim() === '') throw new CliError('--tenant needs a value', 2);
  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 0 || threads > MAX_THREADS)) {
    throw new CliError(`--threads '${opts.threads}' must be a whole number from 0 to ${MAX_THREADS}`, 2);
  }
  const config = await load(opts, env);
  const audit = await import('@atom-gov/audit');

  if (opts.exportPublicKey !== undefined) {
    // Creates the key if the gateway has not yet: the same file it would generate on its first checkpoint.
    const signer = audit.CheckpointSigner.open(config.audit.signingKey);
    writeFileSync(opts.exportPublicKey, signer.publicKeyPem(), { mode: 0o644 });
    out.stdout(`wrote the audit checkpoint public key (key id ${signer.keyId}) to ${opts.exportPublicKey}\n`);
    return 0;
  }

  const publicKey = publicKeyFor(opts, config, audit.loadPublicKey);
  const extraCheckpoints = readCheckpointFile(opts.checkpoints ?? config.audit.checkpointFile, opts.checkpoints);
  const { url: databaseUrl, sqlitePath } = config.database;
  if (databaseUrl === undefined && !existsSync(sqlitePath)) {
    out.stderr(`No audit database at ${sqlitePath} yet: nothing to verify.\n`);
    return 0;
  }
  const store = await audit.openAuditStore({ ...(databaseUrl !== undefined ? { databaseUrl } : {}), sqlitePath });
  let report: VerifyReport;
  try {
    report = await store.verify({
      ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
      ...(publicKey ? { publicKey } : {}),
      ...(threads !== undefined ? { threads } : {}),
      extraCheckpoints,
    });
  } finally {
    await store.close();
  }
  out.stdout(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;
}

async function load(opts: AuditVerifyOptions, env?: Record<string, string | undefined>): Promise<AtomGovConfig> {
  try {
    return await loadConfig({
      ...(opts.config !== undefined ? { configPath: opts.config } : {}),
      ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      ...(env ? { env } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`the configuration is not valid:\n${formatIssues(error.issues)}`);
    throw error;
  }
}

/** --public-key, else the public half of the configured signing key when it is readable here. */
function publicKeyFor(
  opts: AuditVerifyOptions,
  config: AtomGovConfig,
  loadPublicKey: (path: string) => KeyObject,
): KeyObject | undefined {
  const path = opts.publicKey ?? (existsSync(config.audit.signingKey) ? config.audit.signingKey : undefined);
  if (path === undefined) return undefined;
  try {
    return loadPublicKey(path);
  } catch (error) {
    throw new CliError(`--public-key: ${(error as Error).message}`, 2);
  }
}

/** The checkpoint mirror (JSON lines); a configured one that does not exist yet is simply not used. */
function readCheckpointFile(path: string | undefined, explicit: string | undefined): Checkpoint[] {
  if (path === undefined || (explicit === undefined && !existsSync(path))) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`--checkpoints: cannot read ${path}: ${(error as Error).message}`, 2);
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Checkpoint;
      } catch {
        throw new CliError(`${path}:${i + 1}: not a JSON checkpoint line`, 2);
      }
    });
}

export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  let events = 0;
  let problems = 0;
  for (const t of report.tenants) {
    events += t.events;
    problems += t.problems.length;
    const range = t.events > 0 ? ` (seq ${t.startSeq}-${t.lastSeq})` : '';
    const signed = t.lastSignedSeq !== undefined ? `, signed up to seq ${t.lastSignedSeq}` : ', not signed yet';
    const summary = `${t.events} event${t.events === 1 ? '' : 's'}${range}, ${t.checkpoints} checkpoint${t.checkpoints === 1 ? '' : 's'}${signed}`;
    if (t.problems.length === 0) {
      lines.push(`tenant ${t.tenant}: OK, ${summary}`);
      continue;
    }
    lines.push(`tenant ${t.tenant}: ${t.problems.length} problem${t.problems.length === 1 ? '' : 's'}, ${summary}`);
    for (const p of t.problems) lines.push(`  ${p.kind}: ${p.message}`);
  }
  const rate = Math.round(report.eventsPerSecond).toLocaleString('en-US');
  const tenants = `${report.tenants.length} tenant${report.tenants.length === 1 ? '' : 's'}`;
  lines.push(
    report.ok
      ? `audit chain OK: ${events} events in ${tenants} verified (${rate} events/s)`
      : `audit chain NOT OK: ${problems} problem${problems === 1 ? '' : 's'} in ${tenants}`,
  );
  return `${lines.join('\n')}\n`;
}

const processOutput: VerifyOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Adds `verify` under `atom-gov audit` (registered after the audit command). */
export function register(program: Command): void {
  const audit = program.commands.find((c) => c.name() === 'audit');
  if (!audit) throw new Error('register the audit command before audit verify');
  audit
    .command('verify')
    .description(
      'Check the tamper-evident audit chain and its signed checkpoints (exit 1 on any problem), ' +
        'or export the checkpoint public key',
    )
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .option('--data-dir <dir>', 'data directory (default: ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .option('--tenant <tenant>', 'only this tenant')
    .option(
      '--public-key <file>',
      'Ed25519 public key (PEM) the checkpoints must be signed with (default: the configured signing key)',
    )
    .option(
      '--checkpoints <file>',
      'also check against this checkpoint mirror (JSON lines; default: audit.checkpoint_file)',
    )
    .option('--export-public-key <file>', 'write the checkpoint public key (PEM) to this file and exit')
    .option('--format <format>', `output: ${FORMATS.join(', ')} (default text)`)
    .option(
      '--threads <n>',
      'verification threads for a large SQLite trail (default 0: one thread; used from 20,000 events)',
    )
    .action(async (opts: AuditVerifyOptions, command: Command) => {
      // Options the parent `audit` also defines (--config, --tenant, ...) are parsed by it wherever they appear.
      const parentOpts = (command.parent?.opts() ?? {}) as AuditVerifyOptions;
      const merged: AuditVerifyOptions = {
        ...pick(parentOpts, ['config', 'dataDir', 'tenant', 'format']),
        ...opts,
      };
      const code = await auditVerifyCommand(merged, processOutput);
      if (code !== 0) throw new CliError('the audit chain does not verify (see the problems above)', code);
    });
}

function pick(opts: AuditVerifyOptions, keys: Array<keyof AuditVerifyOptions>): AuditVerifyOptions {
  return Object.fromEntries(keys.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]));
}
