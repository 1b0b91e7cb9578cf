import type { AtomGovConfig } from '@atom-gov/config';
import { temporalDecisionClient } from '@atom-gov/notify';
import { Client, Connection } from '@temporalio/client';
import { type RunningSlackbot, startSlackbot } from './slack-approvals.app.js';

/** Runs the Slack approvals app for a loaded config, deciding through the Temporal cluster at `temporalAddress`. */
export async function startSlackbotFromConfig(opts: {
  config: AtomGovConfig;
  temporalAddress: string;
  port?: number;
}): Promise<RunningSlackbot> {
  const connection = Connection.lazy({ address: opts.temporalAddress, connectTimeout: 3_000 });
  const client = new Client({ connection, namespace: opts.config.temporal.namespace });
  try {
    const bot = await startSlackbot({
      slack: opts.config.notifications.slack,
      decisions: temporalDecisionClient(client),
      ...(opts.port !== undefined ? { port: opts.port } : {}),
    });
    return {
      ...(bot.url !== undefined ? { url: bot.url } : {}),
      app: bot.app,
      async close() {
        await bot.close();
        await connection.close();
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}
