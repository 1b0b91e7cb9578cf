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
// on-no-X: every obligation on except X (rate_limit, pii, hours, audit, pinning), to split the on/off gap by obligation.
const DROPPABLE = ['rate_limit', 'pii', 'hours', 'audit', 'pinning'];
const dropped = mode?.startsWith('on-no-') ? mode.slice('on-no-'.length) : undefined;
if (!upstreamUrl || !apiKey || !(mode === 'on' || mode === 'off' || DROPPABLE.includes(dropped ?? '')))
  throw new Error(`usage: obligations.target.mjs UPSTREAM_URL API_KEY on|off|on-no-{${DROPPABLE.join(',')}}`);
const on = mode !== 'off';
// The policy's parts by obligation (YAML lines of the action block, then the audit block).
const parts = {
  rate_limit:
    '    rate_limit:\n      limit: 100000000/hour\n      per: user\n      burst: 10000000\n      window: sliding\n',
  pii: '    pii_detection:\n      enabled: true\n      redact: true\n',
  hours:
    '    access_hours:\n      days: [mon, tue, wed, thu, fri, sat, sun]\n      hours: 00:00-24:00\n      timezone: Europe/Berlin\n',
  audit: '  audit:\n    log_level: full\n',
};
const keep = (what) => (dropped === what ? '' : parts[what]);
const policy =
  'policy:\n  name: bench_obligations\n  trigger:\n    mcp_server: everything\n    operation: echo\n  action:\n' +
  keep('rate_limit') +
  keep('pii') +
  keep('hours') +
  keep('audit');
await serveBenchGateway(upstreamUrl, apiKey, {
  prefix: `atom-gov-bench-obl-${mode}-`,
  global: `  pinning: ${on && dropped !== 'pinning' ? 'tofu' : 'off'}\n`,
  server: `      policies:\n        - audit_level: ${on && dropped !== 'audit' ? 'full' : 'none'}\n`,
  after: on ? '  policy_files: [obligations.yaml]\n' : '',
  files: { 'obligations.yaml': policy },
  report: (s) => `[obligations target ${mode}] audit: ${s.committed} events in ${s.batches} transactions`,
});
