// Benchmark target for bench/obligations.bench.mjs: the real gateway (startGateway, real audit store in SQLite)
// in front of the Streamable HTTP server given as argv[2], in one of two modes (argv[4]):
//   on:  every fast-path obligation on the benchmarked tool: a rate limit (sliding, per user, with burst; set high
//        so it never denies), PII detection + redaction of arguments and results (every recognizer), audit_level
//        full (JSON summaries, PII-redacted for the audit), tool pinning (tofu) and a time window (every day, all
//        day, in a named time zone);
//   off: the same gateway with no policy, pinning off and audit_level none (the event is still written durably).
// Prints the endpoint URL on stdout. Run after `npm run build`: node bench/obligations.target.mjs URL KEY on|off
import { serveBenchGateway } from './gateway-target.mjs';

const [upstreamUrl, apiKey, mode] = process.argv.slice(2);
if (!upstreamUrl || !apiKey || (mode !== 'on' && mode !== 'off'))
  throw new Error('usage: obligations.target.mjs UPSTREAM_URL API_KEY on|off');
const on = mode === 'on';
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
await serveBenchGateway(upstreamUrl, apiKey, {
  prefix: `atom-gov-bench-obl-${mode}-`,
  global: `  pinning: ${on ? 'tofu' : 'off'}\n`,
  server: `      policies:\n        - audit_level: ${on ? 'full' : 'none'}\n`,
  after: on ? '  policy_files: [obligations.yaml]\n' : '',
  files: { 'obligations.yaml': policy },
  report: (s) => `[obligations target ${mode}] audit: ${s.committed} events in ${s.batches} transactions`,
});
