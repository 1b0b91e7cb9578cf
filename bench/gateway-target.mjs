// Shared by the gateway benchmark targets (bench/mcp-gateway.target.mjs, bench/obligations.target.mjs; not a target
// itself): the real gateway (startGateway: NestJS/Express, MCP module, API-key identity) with the real config loader
// and the real audit store (SQLite, group commit) in front of one Streamable HTTP server as a `url:` upstream named
// `everything`. Prints the endpoint URL on stdout; on SIGTERM prints the audit store's batch figures and exits.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@atom-gov/config';
import { openAuditStore } from '@atom-gov/audit';
import { startGateway } from '@atom-gov/gateway';

/**
 * opts.prefix: temp dir name prefix; opts.global: YAML lines under `atom_gov:` before `gateway:`; opts.server: YAML
 * lines of the `everything` server entry after its url; opts.after: YAML lines after `servers:`; opts.files: more
 * files (name -> text) beside the config; opts.report(stats): the line printed to stderr on SIGTERM.
 */
export async function serveBenchGateway(upstreamUrl, apiKey, opts) {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  const configPath = join(dir, 'mcp-governance.yaml');
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text);
  writeFileSync(
    configPath,
    `atom_gov:
  version: 1.0.0
${opts.global ?? ''}  gateway:
    host: 127.0.0.1
    port: 0
    api_keys:
      - name: bench
        sha256: ${createHash('sha256').update(apiKey).digest('hex')}
        tenant: bench
        user: bench
        roles: [dev]
  servers:
    - name: everything
      url: ${JSON.stringify(upstreamUrl)}
${opts.server ?? ''}${opts.after ?? ''}`,
  );
  const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
  const audit = await openAuditStore({ sqlitePath: config.database.sqlitePath });
  // Temporal is not used by these calls (its connection is lazy).
  const gateway = await startGateway({ config, audit, temporalAddress: '127.0.0.1:1', port: 0, logger: false });
  process.stdout.write(`${gateway.url}/mcp/everything\n`);
  process.on('SIGTERM', async () => {
    process.stderr.write(`${opts.report(audit.stats())}\n`);
    await gateway.close();
    await audit.close();
    process.exit(0);
  });
}
