// Benchmark target: the real ATOM-GOV gateway (startGateway: NestJS/Express, MCP module, API-key identity) with
// the real config loader and the real audit store (SQLite, group commit, audit on). The governed server is a
// `url:` entry pointing at the Streamable HTTP server given as argv[2], so every downstream session gets its own
// upstream HTTP session on that same server (no stdio processes). Prints the endpoint URL on stdout.
// Run after `npm run build`: node bench/mcp-gateway.target.mjs http://127.0.0.1:PORT/mcp API_KEY [audit-off]
// (audit-off sets global.audit: false, only to measure what the audit append costs).
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@atom-gov/config';
import { openAuditStore } from '@atom-gov/audit';
import { startGateway } from '@atom-gov/gateway';

const [upstreamUrl, apiKey, auditMode] = process.argv.slice(2);
if (!upstreamUrl || !apiKey) throw new Error('usage: mcp-gateway.target.mjs UPSTREAM_URL API_KEY');
const dir = mkdtempSync(join(tmpdir(), 'atom-gov-bench-'));
const configPath = join(dir, 'mcp-governance.yaml');
writeFileSync(
  configPath,
  `atom_gov:
  version: 1.0.0
  global:
    audit: ${auditMode !== 'audit-off'}
  gateway:
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
`,
);
const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
const audit = await openAuditStore({ sqlitePath: config.database.sqlitePath });
// Temporal is not used by plain forwarding (its connection is lazy).
const gateway = await startGateway({ config, audit, temporalAddress: '127.0.0.1:1', port: 0, logger: false });
process.stdout.write(`${gateway.url}/mcp/everything\n`);
process.on('SIGTERM', async () => {
  // Group-commit batch sizes of the audit store over the whole run (each batch is one fsync'd transaction).
  const s = audit.stats();
  process.stderr.write(
    `[gateway target] audit: ${s.committed} events in ${s.batches} transactions ` +
      `(mean ${(s.committed / Math.max(1, s.batches)).toFixed(1)}, largest ${s.largestBatch})\n`,
  );
  await gateway.close();
  await audit.close();
  process.exit(0);
});
