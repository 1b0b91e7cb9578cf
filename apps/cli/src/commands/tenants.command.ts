// `atom-gov tenants forget TENANT [--yes]` (GDPR erasure by crypto-shredding), `atom-gov tenants rotate-key TENANT`,
// `atom-gov tenants keys [TENANT]`: the per-tenant data keys that encrypt audit fields. Forget and rotate are audited.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { ConfiguredAuditStore, TenantKeyring } from '@atom-gov/audit';
import type { AtomGovConfig } from '@atom-gov/config';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { openAuditForConfig } from '../audit-access.js';
import { CliError } from '../run-cli.js';
import { type AuditOutput, loadAuditConfig } from './audit.command.js';

export interface TenantsOptions {
  config?: string;
  dataDir?: string;
  yes?: boolean;
  format?: string;
  newMasterKeyFile?: string;
}

export interface TenantsIo extends AuditOutput {
  /** Asks the operator a question (interactive terminals only); undefined when there is no terminal. */
  ask?: (question: string) => Promise<string>;
  env?: Record<string, string | undefined>;
}

function checkTenant(tenant: string): string {
  if (tenant.trim() === '') throw new CliError('give the tenant name, e.g. atom-gov tenants forget acme', 2);
  return tenant;
}

async function withKeyring<T>(
  opts: TenantsOptions,
  io: TenantsIo,
  fn: (keyring: TenantKeyring, store: ConfiguredAuditStore, config: AtomGovConfig) => Promise<T>,
): Promise<T> {
  const config = await loadAuditConfig(opts, io.env);
  const store = await openAuditForConfig(config, { forReading: true, ...(io.env ? { env: io.env } : {}) });
  try {
    const keyring = store.privacy.keyring;
    if (!keyring) {
      throw new CliError(
        'no master key found (ATOM_GOV_MASTER_KEY, ATOM_GOV_MASTER_KEY_FILE or <data dir>/master.key): audit fields ' +
          'were never encrypted here, so there are no tenant keys. Enable `audit: { encrypt: true }` first.',
      );
    }
    return await fn(keyring, store, config);
  } finally {
    await store.close();
  }
}

/** Records an operator action on the tenant's own chain (the plain fields only: nothing to seal). */
async function auditAction(
  store: ConfiguredAuditStore,
  config: AtomGovConfig,
  tenant: string,
  method: string,
  intent: string,
  started: number,
): Promise<void> {
  await store.append({
    time: new Date(),
    tenant,
    user: `operator:${userInfo().username}`,
    server: 'atom-gov',
    method,
    decision: 'allow',
    configVersion: config.version,
    intent,
    outcome: 'ok',
    durationMs: Date.now() - started,
    requestBytes: 0,
    responseBytes: 0,
  });
}

export async function tenantsForgetCommand(tenant: string, opts: TenantsOptions, io: TenantsIo): Promise<void> {
  checkTenant(tenant);
  if (!opts.yes) {
    if (!io.ask) {
      throw new CliError(
        `forgetting tenant '${tenant}' destroys its audit data keys for good; confirm with --yes (no terminal to ask)`,
        2,
      );
    }
    const answer = await io.ask(
      `This destroys every audit data key of tenant '${tenant}': its encrypted audit fields become unreadable ` +
        `forever (the events and the chain stay). Type the tenant name to confirm: `,
    );
    if (answer.trim() !== tenant) throw new CliError('not confirmed: nothing was erased', 1);
  }
  await withKeyring(opts, io, async (keyring, store, config) => {
    const started = Date.now();
    const destroyed = await keyring.forget(tenant);
    if (destroyed === 0) {
      io.stdout(`Tenant '${tenant}' has no live data keys: nothing to erase.\n`);
      return;
    }
    await auditAction(
      store,
      config,
      tenant,
      'tenants/forget',
      `GDPR erasure: crypto-shredded ${destroyed} data key${destroyed === 1 ? '' : 's'}`,
      started,
    );
    io.stdout(
      `Tenant '${tenant}': destroyed ${destroyed} data key${destroyed === 1 ? '' : 's'}. Its encrypted audit fields ` +
        'now read [erased]; the events and the hash chain are unchanged and still verify.\n',
    );
  });
}

export async function tenantsRotateKeyCommand(tenant: string, opts: TenantsOptions, io: TenantsIo): Promise<void> {
  checkTenant(tenant);
  await withKeyring(opts, io, async (keyring, store, config) => {
    const started = Date.now();
    const keyId = await keyring.rotate(tenant);
    await auditAction(store, config, tenant, 'tenants/rotate-key', `new data key ${keyId}`, started);
    io.stdout(`Tenant '${tenant}': new data key ${keyId}; older events stay readable under their keys.\n`);
  });
}

/** Master key rotation: re-wraps every live data key under the key in `--new-master-key-file`. */
export async function tenantsRewrapCommand(opts: TenantsOptions, io: TenantsIo): Promise<void> {
  if (!opts.newMasterKeyFile) {
    throw new CliError('give the new master key: --new-master-key-file FILE (e.g. from `openssl rand -hex 32`)', 2);
  }
  const { loadMasterKey } = await import('@atom-gov/audit');
  let next;
  try {
    next = loadMasterKey({ masterKeyFile: opts.newMasterKeyFile, dataDir: '' });
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  await withKeyring(opts, io, async (keyring) => {
    const n = await keyring.rewrap(next);
    io.stdout(
      `Re-wrapped ${n} data key${n === 1 ? '' : 's'} under master key ${next.id}. Now give every gateway, worker and ` +
        `CLI the new key (ATOM_GOV_MASTER_KEY_FILE=${opts.newMasterKeyFile}) and retire the old one.\n`,
    );
  });
}

export async function tenantsKeysCommand(
  tenant: string | undefined,
  opts: TenantsOptions,
  io: TenantsIo,
): Promise<void> {
  const format = opts.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new CliError(`--format '${format}' is not one of: table, json`, 2);
  await withKeyring(opts, io, async (keyring) => {
    const keys = await keyring.list(tenant);
    if (format === 'json') {
      io.stdout(`${JSON.stringify(keys, null, 2)}\n`);
      return;
    }
    if (keys.length === 0) {
      io.stdout('No data keys yet.\n');
      return;
    }
    const table = new Table({ head: ['TENANT', 'KEY', 'CREATED (UTC)', 'STATE'], style: { head: [], border: [] } });
    for (const k of keys) {
      const state = k.destroyedAt
        ? `destroyed ${k.destroyedAt.toISOString()}`
        : k.retiredAt
          ? `retired ${k.retiredAt.toISOString()}`
          : 'active';
      table.push([k.tenant, k.keyId, k.createdAt.toISOString(), state]);
    }
    io.stdout(`${table.toString()}\n`);
  });
}

const processIo: TenantsIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  ...(process.stdin.isTTY
    ? {
        ask: async (question: string) => {
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return await rl.question(question);
          } finally {
            rl.close();
          }
        },
      }
    : {}),
};

export function register(program: Command): void {
  const tenants = program.command('tenants').description('Tenant data keys: GDPR erasure (forget), key rotation');
  const common = (c: Command) =>
    c
      .option(
        '--config <file>',
        'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
      )
      .option('--data-dir <dir>', 'data directory (default: ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)');
  common(
    tenants
      .command('forget')
      .description("GDPR erasure: destroy the tenant's audit data keys (crypto-shredding); the chain still verifies")
      .argument('<tenant>', 'tenant name')
      .option('--yes', 'do not ask for confirmation'),
  ).action(async (tenant: string, opts: TenantsOptions) => tenantsForgetCommand(tenant, opts, processIo));
  common(
    tenants
      .command('rotate-key')
      .description('Start a new data key for the tenant (older events stay readable under their keys)')
      .argument('<tenant>', 'tenant name'),
  ).action(async (tenant: string, opts: TenantsOptions) => tenantsRotateKeyCommand(tenant, opts, processIo));
  common(
    tenants
      .command('rewrap')
      .description('Master key rotation: re-wrap every tenant data key under a new master key')
      .requiredOption('--new-master-key-file <file>', 'the new master key (64 hex characters or base64, mode 0600)'),
  ).action(async (opts: TenantsOptions) => tenantsRewrapCommand(opts, processIo));
  common(
    tenants
      .command('keys')
      .description('List data keys (ids and states, never key material)')
      .argument('[tenant]', 'only this tenant')
      .option('--format <format>', 'table (default) or json'),
  ).action(async (tenant: string | undefined, opts: TenantsOptions) => tenantsKeysCommand(tenant, opts, processIo));
}
