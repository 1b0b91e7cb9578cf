// Benchmark target: the real ATOM-GOV gateway (startGateway: NestJS/Express, MCP module, API-key identity) with
// the real config loader and the real audit store (SQLite, group commit, audit on). The governed server is a
// `url:` entry pointing at the Streamable HTTP server given as argv[2], so every downstream session gets its own
// upstream HTTP session on that same server (no stdio processes). Prints the endpoint URL on stdout.
// Run after `npm run build`: node bench/mcp-gateway.target.mjs http://127.0.0.1:PORT/mcp API_KEY [audit-off]
// (audit-off sets global.audit: false, only to measure what the audit append costs).
import { serveBenchGateway } from './gateway-target.mjs';

const [upstreamUrl, apiKey, auditMode] = process.argv.slice(2);
if (!upstreamUrl || !apiKey) throw new Error('usage: mcp-gateway.target.mjs UPSTREAM_URL API_KEY');
await serveBenchGateway(upstreamUrl, apiKey, {
  prefix: 'atom-gov-bench-',
  global: `  global:\n    audit: ${auditMode !== 'audit-off'}\n`,
  // Group-commit batch sizes of the audit store over the whole run (each batch is one fsync'd transaction), and
  // where an append's time goes: queued behind the write in flight, then its own write (transaction + fsync).
  report: (s) =>
    `[gateway target] audit: ${s.committed} events in ${s.batches} transactions ` +
    `(mean ${(s.committed / Math.max(1, s.batches)).toFixed(1)}, largest ${s.largestBatch}); ` +
    `mean queued ${(s.waitMs / Math.max(1, s.committed)).toFixed(2)} ms + write ${(s.writeMs / Math.max(1, s.batches)).toFixed(2)} ms`,
});
