// Gateway throughput with every fast-path obligation on versus off (issue 4 target: ratio >= 0.9). Two gateway
// processes (bench/obligations.target.mjs on / off) in front of one server-everything (streamableHttp), measured
// side by side: interleaved rounds with rotating order, so a noisy machine hits both alike; before the rounds of each
// session count, one discarded warm-up run per variant (JIT compilation of the code each variant runs, first-use
// caches), which otherwise landed in round 1 of whichever variant has more code to compile. "on" = rate limit
// (sliding + burst), PII detection and redaction of arguments and results, audit_level full, tool pinning and a
// time window; "off" = no policy, pinning off, audit_level none (the durable audit append happens in both).
// Run after `npm run build` (npm run bench -- obligations does both):
//   node bench/obligations.bench.mjs [--seconds 3] [--rounds 4] [--warmup 2] [--cpu-prof DIR] [--split]
// Exits 0 whether or not the target is met; prints PASS/MISS.
// The load generator is bench/mcp-load-driver.mjs (raw keep-alive HTTP/1.1, one socket per initialized session).
import * as load from './mcp-load-driver.mjs';

const seconds = load.numberArg('--seconds', 3);
// An even number of rounds: each variant runs first in as many rounds as the other.
const rounds = load.numberArg('--rounds', 4);
// Seconds of the discarded warm-up run of each variant (0: none).
const warmup = load.numberArg('--warmup', 2);
// --cpu-prof DIR: both gateway processes write V8 CPU profiles there.
const profDir = load.stringArg('--cpu-prof');
// --split: also run "on" minus one obligation at a time (on-no-rate_limit, on-no-pii, ...), to see what each costs.
const split = process.argv.includes('--split');
const modes = [
  'on',
  'off',
  ...(split ? ['rate_limit', 'pii', 'hours', 'audit', 'pinning'].map((o) => `on-no-${o}`) : []),
];
const API_KEY = 'agk_bench_0123456789';
const session = {
  apiKey: API_KEY,
  // As MCP clients do before calling: list the tools (this is also when pinning verifies the definitions).
  listTools: true,
  // A realistic result with one email address in it: the "on" gateway finds and redacts it (arguments and result).
  message: (id) => `bench ${id} ask jane.doe@example.com about ticket 4711`,
  // Every call's answer must be a 200 with the upstream's echo of this call.
  expect: (id) => `Echo: bench ${id} ask `,
};

const results = [];
try {
  const { url: directUrl } = await load.startEverythingHttp();
  const target = new URL('./obligations.target.mjs', import.meta.url).pathname;
  const prof = (mode) =>
    profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `obligations-${mode}.cpuprofile`] : [];
  const procs = modes.map((mode) => [mode, load.startTarget([...prof(mode), target, directUrl, API_KEY, mode])]);
  const variants = [];
  for (const [key, proc] of procs) variants.push({ key, url: await load.firstLine(proc), session, pid: proc.pid });
  for (const sessions of [8, 64]) {
    if (warmup > 0) await load.interleavedRounds(variants, { rounds: 1, sessions, seconds: warmup });
    const runs = await load.interleavedRounds(variants, { rounds, sessions, seconds });
    // Per-round on/off ratios (the two runs of a round are adjacent in time): their median is robust against a
    // load spike from other processes hitting one variant's run on a shared machine.
    const roundRatios = runs.on
      .map((r, i) => r.latencies.length / r.wall / (runs.off[i].latencies.length / runs.off[i].wall))
      .sort((a, b) => a - b);
    const median = roundRatios[Math.floor(roundRatios.length / 2)];
    const extra = modes.slice(2).map((mode) => ({ mode, ...load.summarise(runs[mode]) }));
    results.push({ sessions, on: load.summarise(runs.on), off: load.summarise(runs.off), roundRatios, median, extra });
  }
} finally {
  await load.stopTargets();
}

const f = (n, d = 2) => n.toFixed(d);
console.log(
  `tools/call echo (result with one email address) through the gateway, obligations on vs off, ${rounds} interleaved ` +
    `rounds x ${seconds} s per variant after a discarded ${warmup} s warm-up run of each, raw keep-alive HTTP load generator, node ${process.version}, ` +
    `${new Date().toISOString()}, load average ${load.loadAverage()} at the end\n`,
);
console.log(
  '| sessions | off calls/s | on calls/s | on / off | off p50/p99 ms | on p50/p99 ms | CPU ms/call off / on |',
);
console.log('|---|---|---|---|---|---|---|');
for (const { sessions, on, off } of results) {
  console.log(
    `| ${sessions} | ${f(off.rps, 0)} | ${f(on.rps, 0)} | ${f(on.rps / off.rps)} | ${f(off.p50)}/${f(off.p99)} | ${f(on.p50)}/${f(on.p99)} | ${f(off.cpuMsPerCall, 3)} / ${f(on.cpuMsPerCall, 3)} |`,
  );
}
if (split) {
  console.log('\n| sessions | variant | calls/s | / off | CPU ms/call | CPU ms/call saved vs on |');
  console.log('|---|---|---|---|---|---|');
  for (const { sessions, on, off, extra } of results)
    for (const v of [{ mode: 'on', ...on }, ...extra])
      console.log(
        `| ${sessions} | ${v.mode} | ${f(v.rps, 0)} | ${f(v.rps / off.rps)} | ${f(v.cpuMsPerCall, 3)} | ${f(on.cpuMsPerCall - v.cpuMsPerCall, 3)} |`,
      );
}
for (const { sessions, roundRatios, median } of results)
  console.log(
    `\n${sessions} sessions: per-round on/off ratios ${roundRatios.map((r) => f(r)).join(', ')} (median ${f(median)})`,
  );
console.log('\nTargets:');
for (const { sessions, on, off } of results) {
  const ratio = on.rps / off.rps;
  console.log(
    `- ${sessions} sessions: throughput with every fast-path obligation on >= 0.9x off: ${ratio >= 0.9 ? 'PASS' : 'MISS'} (${f(ratio)}x)`,
  );
}
