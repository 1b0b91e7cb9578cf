// Throughput and added latency of tools/call `echo` on one server-everything instance in streamableHttp mode, at 8
// and 64 concurrent sessions, three ways: (a) direct, (b) through the ATOM-GOV gateway (real startGateway, audit on
// in SQLite, the server as a `url:` upstream: bench/mcp-gateway.target.mjs), (c) through mcp-proxy in front of the
// same server (bench/mcp-proxy.target.mjs explains its configuration). The variants run interleaved in rounds
// (rotating order) so a noisy machine hits them alike. Run after `npm run build`:
//   node bench/mcp-gateway.bench.mjs [--seconds 3] [--rounds 3] [--warmup 3] [--cpu-prof DIR] [--audit off] [--no-audit-split]
// The load generator is bench/mcp-load-driver.mjs (raw keep-alive HTTP/1.1, one socket per session, initialized
// sessions), so the client costs the same small amount for every variant.
// Exits 0 whether or not the targets are met; prints PASS/MISS per target.
import * as load from './mcp-load-driver.mjs';

const seconds = load.numberArg('--seconds', 3);
const rounds = load.numberArg('--rounds', 3);
// --warmup S: seconds of the unmeasured warm-up round (0: none).
const warmup = load.numberArg('--warmup', 3);
// --cpu-prof DIR: the gateway process writes a V8 CPU profile there (read its top frames to find hot spots).
const profDir = load.stringArg('--cpu-prof');
// --audit off: the gateway runs with global.audit false (diagnosis only: what the durable audit append costs).
const auditOff = load.stringArg('--audit') === 'off';
const API_KEY = 'agk_bench_0123456789';
// Every call's answer must carry the upstream's echo text, unchanged.
const session = { message: (id) => `bench ${id}`, expect: (id) => `Echo: bench ${id}"` };
const authed = { ...session, apiKey: API_KEY };

const results = [];
try {
  const direct = await load.startEverythingHttp();
  const directUrl = direct.url;
  const gatewayTarget = new URL('./mcp-gateway.target.mjs', import.meta.url).pathname;
  const gw = load.startTarget([
    ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
    gatewayTarget,
    directUrl,
    API_KEY,
    ...(auditOff ? ['audit-off'] : []),
  ]);
  const px = load.startTarget([new URL('./mcp-proxy.target.mjs', import.meta.url).pathname, directUrl]);
  // A second gateway with audit off runs in the same rounds, so the audit append's share of the gap shows side by
  // side (diagnosis; the targets are judged on the audit-on gateway). --no-audit-split skips it.
  const split =
    !process.argv.includes('--no-audit-split') && !auditOff
      ? load.startTarget([gatewayTarget, directUrl, API_KEY, 'audit-off'])
      : undefined;
  const variants = [
    { key: 'direct', url: directUrl, session, pid: direct.pid },
    { key: 'gateway', url: await load.firstLine(gw), session: authed, pid: gw.pid },
    { key: 'proxy', url: await load.firstLine(px), session, pid: px.pid },
    ...(split ? [{ key: 'noaudit', url: await load.firstLine(split), session: authed, pid: split.pid }] : []),
  ];
  // One unmeasured round per variant first: without it the first measured round of every process (JIT still
  // compiling the hot path) cost more CPU per call than later ones (up to 4x for the upstream, 1.3-1.6x for the
  // gateway, measured in per-round figures), which inflated the 8-session figures.
  if (warmup > 0) await load.interleavedRounds(variants, { rounds: 1, sessions: 8, seconds: warmup });
  for (const sessions of [8, 64]) {
    const runs = await load.interleavedRounds(variants, { rounds, sessions, seconds });
    results.push({
      sessions,
      d: load.summarise(runs.direct),
      g: load.summarise(runs.gateway),
      p: load.summarise(runs.proxy),
      n: split ? load.summarise(runs.noaudit) : undefined,
    });
  }
} finally {
  // Stop every target and wait for it (the gateway target reports its audit batch sizes as it exits).
  await load.stopTargets();
}

const f = (n, d = 2) => n.toFixed(d);
const mark = (ok) => (ok ? 'PASS' : 'MISS');
console.log(
  `tools/call echo on server-everything (streamableHttp), ${rounds} interleaved rounds x ${seconds} s per variant, ` +
    `raw keep-alive HTTP load generator, node ${process.version}, ${new Date().toISOString()}, ` +
    `load average ${load.loadAverage()} at the end\n`,
);
console.log(
  `| sessions | direct calls/s | ATOM-GOV calls/s (audit ${auditOff ? 'OFF' : 'on'}) | mcp-proxy calls/s | ATOM-GOV / direct | ATOM-GOV / mcp-proxy | direct p50/p99 ms | ATOM-GOV added p50/p99 ms | mcp-proxy added p50/p99 ms | CPU ms/call: server / ATOM-GOV / mcp-proxy |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const { sessions, d, g, p } of results) {
  console.log(
    `| ${sessions} | ${f(d.rps, 0)} | ${f(g.rps, 0)} | ${f(p.rps, 0)} | ${f(g.rps / d.rps)} | ${f(g.rps / p.rps)} | ${f(d.p50)}/${f(d.p99)} | ${f(g.p50 - d.p50)}/${f(g.p99 - d.p99)} | ${f(p.p50 - d.p50)}/${f(p.p99 - d.p99)} | ${f(d.cpuMsPerCall, 3)} / ${f(g.cpuMsPerCall, 3)} / ${f(p.cpuMsPerCall, 3)} |`,
  );
}
if (results.some((r) => r.n)) {
  console.log('\nDiagnosis (same rounds): the same gateway with audit OFF');
  console.log(
    '| sessions | audit-off calls/s | audit-off / direct | audit-off added p50/p99 ms | audit-off CPU ms/call |',
  );
  console.log('|---|---|---|---|---|');
  for (const { sessions, d, n } of results) {
    console.log(
      `| ${sessions} | ${f(n.rps, 0)} | ${f(n.rps / d.rps)} | ${f(n.p50 - d.p50)}/${f(n.p99 - d.p99)} | ${f(n.cpuMsPerCall, 3)} |`,
    );
  }
}
console.log('\nTargets:');
for (const { sessions, d, g, p } of results) {
  console.log(
    `- ${sessions} sessions: ATOM-GOV >= 0.95x direct throughput: ${mark(g.rps >= 0.95 * d.rps)} (${f(g.rps / d.rps)}x)`,
  );
  console.log(
    `- ${sessions} sessions: ATOM-GOV not slower than mcp-proxy: ${mark(g.rps >= p.rps)} (${f(g.rps / p.rps)}x)`,
  );
  console.log(
    `- ${sessions} sessions: p50 added latency <= 1 ms: ${mark(g.p50 - d.p50 <= 1)} (${f(g.p50 - d.p50)} ms)`,
  );
}
