// The governed path's real parts for e2e tests: a config (API keys, server-everything from npm, policy files) written
// to a temp dir, the real worker on the suite's Temporal dev server (own task queue), the real audit store (SQLite),
// the real gateway in process, and a GovernanceClient for the approvers' side. Clients are the official MCP SDK's.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditChainOptions, type AuditEvent, type AuditQuery, type AuditStore, openAuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, loadConfig } from '@atom-gov/config';
import { type RunningGateway, startGateway, type StartGatewayOptions } from '@atom-gov/gateway';
import { argsHash, GovernanceClient, type PendingOperation } from '@atom-gov/governance-client';
import { freePort } from '@atom-gov/mcp';
import { createNotifiers } from '@atom-gov/notify';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { type RunningWorker, startWorker } from '@atom-gov/worker';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { version as uuidVersion } from 'uuid';
import { waitFor } from './wait-for.js';

const require = createRequire(import.meta.url);
const EVERYTHING = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');

/** An API key of the stack's tenant. */
export interface StackKey {
  name: string;
  key: string;
  user: string;
  roles: string[];
}

export interface GovernedStackOptions {
  /** Prefix of the temp dir and of the task queue. */
  name: string;
  keys: StackKey[];
  /** Policy files (file name -> YAML) written beside the config and listed, in this order, in policy_files. */
  policies: Record<string, string>;
  /** More YAML under `atom_gov:` (notifications:, audit:, telemetry: ...), indented by two spaces; a function gets
   * the stack's temp dir (for paths such as audit.trail_file). */
  extraConfig?: string | ((dir: string) => string);
  /** The worker mails/posts approval requests through notifiers built from the config (default: none). */
  notifiers?: boolean;
  /** Open the audit store with the config's chain options (checkpoints, trail file). Default: plain store. */
  auditChain?: boolean;
  /** Options for the in-process gateway; `false` starts none (the test runs its own, e.g. in a child process). */
  gateway?: Pick<StartGatewayOptions, 'governedProgressEveryMs' | 'governedOutcomeTimeoutMs'> | false;
}

export interface GovernedStack {
  /** Temp dir: config, policy files, data dir (audit.sqlite). Removed by close(). */
  readonly dir: string;
  readonly configPath: string;
  readonly config: AtomGovConfig;
  /** A fresh tenant (t-xxxxxxxx) every key belongs to, so tests on the shared Temporal server do not see each other. */
  readonly tenant: string;
  readonly temporalAddress: string;
  readonly audit: AuditStore;
  readonly worker: RunningWorker;
  readonly gc: GovernanceClient;
  /** The in-process gateway; throws when the stack was started with `gateway: false`. */
  readonly gateway: RunningGateway;
  /** An MCP SDK client on <gatewayUrl, default the stack's gateway>/mcp/<server, default everything> with `key`;
   * closed by close(). */
  connect(
    key: string,
    opts?: { server?: string; client?: ConstructorParameters<typeof Client>[1]; gatewayUrl?: string },
  ): Promise<Client>;
  /** The operation of this tenant still pending for these arguments (visibility is eventually consistent: polls). */
  pendingWith(args: Record<string, unknown>): Promise<PendingOperation>;
  /** The gateway's own audit records of this tenant's requests matching `filter` (the workflow's have uuid v5 ids). */
  gatewayRecords(filter?: AuditQuery): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

export async function startGovernedStack(opts: GovernedStackOptions): Promise<GovernedStack> {
  const env = temporalTestEnv();
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), `atom-gov-${opts.name}-`));
  const configPath = join(dir, 'mcp-governance.yaml');
  for (const [file, yaml] of Object.entries(opts.policies)) writeFileSync(join(dir, file), yaml);
  const keys = opts.keys
    .map(
      (k) => `      - name: ${k.name}
        sha256: ${createHash('sha256').update(k.key).digest('hex')}
        tenant: ${tenant}
        user: ${k.user}
        roles: ${JSON.stringify(k.roles)}`,
    )
    .join('\n');
  // A fixed free port rather than 0: approval links and `atom-gov call` take the gateway's address from the config.
  writeFileSync(
    configPath,
    `atom_gov:
  version: 1.0.0
  temporal: { address: ${env.address}, namespace: ${env.namespace}, task_queue: ${uniqueTaskQueue(opts.name)} }
  gateway:
    host: 127.0.0.1
    port: ${await freePort()}
    api_keys:
${keys}
${typeof opts.extraConfig === 'function' ? opts.extraConfig(dir) : (opts.extraConfig ?? '')}  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([EVERYTHING, 'stdio'])}
  policy_files: ${JSON.stringify(Object.keys(opts.policies))}
`,
  );

  const clients: Client[] = [];
  let notifiers: ReturnType<typeof createNotifiers> | undefined;
  let worker: RunningWorker | undefined;
  let audit: AuditStore | undefined;
  let gateway: RunningGateway | undefined;
  let gc: GovernanceClient | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
      await gateway?.close();
      await worker?.shutdown();
      notifiers?.close();
      await gc?.close();
      await audit?.close();
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
    notifiers = opts.notifiers ? createNotifiers(config) : undefined;
    worker = await startWorker({
      config,
      temporalAddress: env.address,
      registerSearchAttributes: true,
      retentionSchedule: false,
      ...(notifiers ? { notifiers: notifiers.notifiers } : {}),
    });
    audit = await openAuditStore({
      sqlitePath: config.database.sqlitePath,
      ...(opts.auditChain ? auditChainOptions(config.audit) : {}),
    });
    if (opts.gateway !== false) {
      gateway = await startGateway({ config, audit, temporalAddress: env.address, logger: ['error'], ...opts.gateway });
    }
    gc = await GovernanceClient.connect({
      address: env.address,
      namespace: env.namespace,
      taskQueue: config.temporal.taskQueue,
    });
    const running = { worker, audit, gc };
    const withGateway = (): RunningGateway => {
      if (!gateway) throw new Error('this governed stack was started without a gateway (gateway: false)');
      return gateway;
    };
    return {
      dir,
      configPath,
      config,
      tenant,
      temporalAddress: env.address,
      ...running,
      get gateway() {
        return withGateway();
      },
      async connect(key, { server = 'everything', client: clientOptions, gatewayUrl } = {}) {
        const url = `${gatewayUrl ?? withGateway().url}/mcp/${server}`;
        const client = new Client({ name: `${opts.name}-e2e`, version: '1' }, clientOptions);
        await client.connect(
          new StreamableHTTPClientTransport(new URL(url), {
            requestInit: { headers: { authorization: `Bearer ${key}` } },
          }),
        );
        clients.push(client);
        return client;
      },
      pendingWith(args) {
        const hash = argsHash(args);
        return waitFor(async () => {
          const op = (await running.gc.listPending({ tenant })).find((o) => o.state.argsHash === hash);
          return op && op.state.status === 'pending' ? op : undefined;
        }, 200);
      },
      async gatewayRecords(filter = {}) {
        const events = await running.audit.query({ ...filter, tenant });
        return events.filter((e) => uuidVersion(e.id) !== 5);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
