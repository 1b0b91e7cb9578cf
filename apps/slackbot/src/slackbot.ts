import { auditChainOptions, openConfiguredAuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, readEnv } from '@atom-gov/config';
import { temporalDecisionClient } from '@atom-gov/notify';
import { Client, Connection } from '@temporalio/client';
import { type RunningSlackbot, startSlackbot } from './slack-approvals.app.js';

/**
 * Runs the Slack approvals app for a loaded config, deciding through the Temporal cluster at `temporalAddress` and
 * auditing refused requests and votes in the configured audit store (redacted and sealed like the gateway's).
 */
export async function startSlackbotFromConfig(opts: {
  config: AtomGovConfig;
  temporalAddress: string;
  port?: number;
}): Promise<RunningSlackbot> {
  const { config } = opts;
  const masterKey = readEnv('ATOM_GOV_MASTER_KEY');
  const masterKeyFile = readEnv('ATOM_GOV_MASTER_KEY_FILE');
  const audit = await openConfiguredAuditStore({
    ...(config.database.url !== undefined ? { databaseUrl: config.database.url } : {}),
    sqlitePath: config.database.sqlitePath,
    dataDir: config.dataDir,
    encrypt: config.global.encryption || config.audit.encrypt,
    piiRedaction: config.audit.piiRedaction,
    ...(masterKey !== undefined ? { masterKey } : {}),
    ...(masterKeyFile !== undefined ? { masterKeyFile } : {}),
    storeOptions: auditChainOptions(config.audit),
  });
  const connection = Connection.lazy({ address: opts.temporalAddress, connectTimeout: 3_000 });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    const bot = await startSlackbot({
      slack: config.notifications.slack,
      decisions: temporalDecisionClient(client),
      audit: { store: audit, defaultTenant: config.gateway.anonymous.tenant, configVersion: config.version },
      ...(opts.port !== undefined ? { port: opts.port } : {}),
    });
    return {
      ...(bot.url !== undefined ? { url: bot.url } : {}),
      app: bot.app,
      async close() {
        await bot.close();
        await connection.close();
        await audit.close();
      },
    };
  } catch (error) {
    await connection.close();
    await audit.close();
    throw error;
  }
}
