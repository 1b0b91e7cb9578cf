// Benchmark target for bench/obligations.bench.mjs: the real gateway (startGateway, real audit store in SQLite)
// in front of the Streamable HTTP server given as argv[2], in one of two modes (argv[4]):
//   on:  every fast-path obligation on the benchmarked tool: a rate limit (sliding, per user, with burst; set high
//        so it never denies), PII detection + redaction of arguments and results (every recognizer), audit_level
//        full (JSON summaries, PII-redacted for the audit), tool pinning (tofu) and a time window (every day, all
//        day, in a named time zone);
//   off: the same gateway with no policy, pinning off and audit_level none (the event is still written durably).
// Prints the endpoint URL on stdout. Run after `npm run build`: node bench/obligations.target.mjs URL KEY on|off
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@atom-gov/config';
import { openAuditStore } from '@atom-gov/audit';
import { startGateway } from '@atom-gov/gateway';

const [upstreamUrl, apiKey, mode] = process.argv.slice(2);
if (!upstreamUrl || !apiKey || (mode !== 'on' && mode !== 'off'))
  throw new Error('usage: obligations.target.mjs UPSTREAM_URL API_KEY on|off');
const on = mode === 'on';
const dir = mkdtempSync(join(tmpdir(), `atom-gov-bench-obl-${mode}-`));
const configPath = join(dir, 'mcp-governance.yaml');
const policy = `policy:
  name: bench_obligations
  trigger:
    mcp_server: everything
    operation: echo
  action:
    rate_limit:
      limit: 100000000/hour
      per: user
      burst: 10000000
      window: sliding
    pii_detection:
      enabled: true
      redact: true
    access_hours:
      days: [mon, tue, wed, thu, fri, sat, sun]
      hours: 00:00-24:00
      timezone: Europe/Berlin
  audit:
    log_level: full
`;
writeFileSync(join(dir, 'obligations.yaml'), policy);
writeFileSync(
  configPath,
  `atom_gov:
  version: 1.0.0
  pinning: ${on ? 'tofu' : 'off'}
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
      policies:
        - audit_level: ${on ? 'full' : 'none'}
${on ? '  policy_files: [obligations.yaml]\n' : ''}`,
);
const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
const audit = await openAuditStore({ sqlitePath: config.database.sqlitePath });
const gateway = await startGateway({ config, audit, temporalAddress: '127.0.0.1:1', port: 0, logger: false });
process.stdout.write(`${gateway.url}/mcp/everything\n`);
process.on('SIGTERM', async () => {
  const s = audit.stats();
  process.stderr.write(`[obligations target ${mode}] audit: ${s.committed} events in ${s.batches} transactions\n`);
  await gateway.close();
  await audit.close();
  process.exit(0);
});
