// Throughput and added latency of tools/call `echo` on one server-everything instance in streamableHttp mode, at 8
// and 64 concurrent sessions, three ways: (a) direct, (b) through the ATOM-GOV gateway (real startGateway, audit on
// in SQLite, the server as a `url:` upstream: bench/mcp-gateway.target.mjs), (c) through mcp-proxy in front of the
// same server (bench/mcp-proxy.target.mjs explains its configuration). The variants run interleaved in rounds
// (rotating order) so a noisy machine hits them alike. Run after `npm run build`:
//   node bench/mcp-gateway.bench.mjs [--seconds 3] [--rounds 3] [--cpu-prof DIR] [--audit off] [--no-audit-split]
// The load generator is raw HTTP/1.1 (node:http, keep-alive, one socket per session): each session is initialized
// first (initialize, notifications/initialized, then only JSON-RPC POSTs), so the client costs the same small
// amount for every variant and is not the bottleneck an SDK Client (schema validation, SSE parser) would be.
// Exits 0 whether or not the targets are met; prints PASS/MISS per target.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const seconds = arg('--seconds', 3);
const rounds = arg('--rounds', 3);
// --cpu-prof DIR: the gateway process writes a V8 CPU profile there (read its top frames to find hot spots).
const profIdx = process.argv.indexOf('--cpu-prof');
const profDir = profIdx > 0 ? process.argv[profIdx + 1] : undefined;
// --audit off: the gateway runs with global.audit false (diagnosis only: what the durable audit append costs).
const auditOff = process.argv.includes('--audit') && process.argv[process.argv.indexOf('--audit') + 1] === 'off';
const API_KEY = 'agk_bench_0123456789';
const children = [];

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// mcp-proxy's one shared upstream Client issues every fetch with the same long-lived AbortSignal; undici leaves an
// abort listener on it per request until GC, and Node warns once per listener past 1,500. The warnings (hundreds
// of lines) are silenced so the results stay readable; the cost they describe is part of mcp-proxy's figures.
const QUIET = '--disable-warning=MaxListenersExceededWarning';

function start(cmd, args, env = {}) {
  const child = spawn(cmd, [QUIET, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  children.push(child);
  return child;
}
// A target that dies before printing its URL fails the run instead of leaving it waiting.
const firstLine = (child) =>
  new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`benchmark target exited with ${code} before printing its URL`)));
  });

/** CPU seconds (user + system) of a process from /proc. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One POST/GET/DELETE on a keep-alive agent; resolves with status, headers and the whole body. */
function send(agent, url, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The JSON-RPC message in a response body (plain JSON or one SSE `data:` event). */
function message(body) {
  const i = body.indexOf('data: ');
  return JSON.parse(i >= 0 ? body.slice(i + 6, body.indexOf('\n', i)) : body);
}

class Session {
  constructor(url, auth) {
    this.url = new URL(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.base = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(auth ? { authorization: `Bearer ${API_KEY}` } : {}),
    };
    this.nextId = 1;
  }
  async open() {
    const init = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    };
    const r = await send(this.agent, this.url, 'POST', this.base, JSON.stringify(init));
    const sid = r.headers['mcp-session-id'];
    if (r.status !== 200 || !sid)
      throw new Error(`initialize at ${this.url}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    this.headers = {
      ...this.base,
      'mcp-session-id': sid,
      'mcp-protocol-version': message(r.body).result.protocolVersion,
    };
    const n = await send(
      this.agent,
      this.url,
      'POST',
      this.headers,
      '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    );
    if (n.status !== 202) throw new Error(`notifications/initialized: HTTP ${n.status}`);
  }
  async call() {
    const id = this.nextId++;
    const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"message":"bench ${id}"}}}`;
    const r = await send(this.agent, this.url, 'POST', this.headers, body);
    // Cheap correctness check on every call: the upstream's echo text, unchanged, in a 200 answer.
    if (r.status !== 200 || !r.body.includes(`Echo: bench ${id}"`)) {
      throw new Error(`tools/call: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    }
  }
  async close() {
    await send(this.agent, this.url, 'DELETE', this.headers).catch(() => undefined);
    this.agent.destroy();
  }
}

async function run(url, auth, sessions, cpuPid) {
  const all = Array.from({ length: sessions }, () => new Session(url, auth));
  await Promise.all(all.map((s) => s.open()));
  await Promise.all(
    all.map(async (s) => {
      for (let i = 0; i < 10; i++) await s.call();
    }),
  ); // warm-up
  const latencies = [];
  const cpu0 = cpuPid ? cpuSeconds(cpuPid) : 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    all.map(async (s) => {
      while (performance.now() < until) {
        const t = performance.now();
        await s.call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuPid ? cpuSeconds(cpuPid) - cpu0 : 0;
  await Promise.all(all.map((s) => s.close()));
  return { latencies, wall, cpu };
}

function summarise(runs) {
  const lat = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const wall = runs.reduce((a, r) => a + r.wall, 0);
  const cpu = runs.reduce((a, r) => a + r.cpu, 0);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return {
    calls: lat.length,
    rps: lat.length / wall,
    p50: q(0.5),
    p99: q(0.99),
    cpuMsPerCall: (cpu * 1000) / lat.length,
  };
}

const results = [];
try {
  const port = await freePort();
  const server = start(process.execPath, [everything, 'streamableHttp'], { PORT: String(port) });
  const directUrl = `http://127.0.0.1:${port}/mcp`;
  for (let i = 0; ; i++) {
    try {
      await new Session(directUrl, false).open();
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const gw = start(process.execPath, [
    ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
    new URL('./mcp-gateway.target.mjs', import.meta.url).pathname,
    directUrl,
    API_KEY,
    ...(auditOff ? ['audit-off'] : []),
  ]);
  const px = start(process.execPath, [new URL('./mcp-proxy.target.mjs', import.meta.url).pathname, directUrl]);
  // A second gateway with audit off runs in the same rounds, so the audit append's share of the gap shows side by
  // side (diagnosis; the targets are judged on the audit-on gateway). --no-audit-split skips it.
  const split =
    !process.argv.includes('--no-audit-split') && !auditOff
      ? start(process.execPath, [
          new URL('./mcp-gateway.target.mjs', import.meta.url).pathname,
          directUrl,
          API_KEY,
          'audit-off',
        ])
      : undefined;
  const variants = [
    { key: 'direct', url: directUrl, auth: false, pid: server.pid },
    { key: 'gateway', url: await firstLine(gw), auth: true, pid: gw.pid },
    { key: 'proxy', url: await firstLine(px), auth: false, pid: px.pid },
    ...(split ? [{ key: 'noaudit', url: await firstLine(split), auth: true, pid: split.pid }] : []),
  ];
  for (const sessions of [8, 64]) {
    const runs = { direct: [], gateway: [], proxy: [], noaudit: [] };
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(k + r) % variants.length];
        runs[v.key].push(await run(v.url, v.auth, sessions, v.pid));
      }
    }
    results.push({
      sessions,
      d: summarise(runs.direct),
      g: summarise(runs.gateway),
      p: summarise(runs.proxy),
      n: split ? summarise(runs.noaudit) : undefined,
    });
  }
} finally {
  // Stop every target and wait for it (the gateway target reports its audit batch sizes as it exits).
  await Promise.all(
    children.map((c) => {
      if (c.exitCode !== null) return undefined;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      try {
        process.kill(-c.pid, 'SIGTERM');
      } catch {
        return undefined; // already gone
      }
      return Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }),
  );
}

const f = (n, d = 2) => n.toFixed(d);
const mark = (ok) => (ok ? 'PASS' : 'MISS');
console.log(
  `tools/call echo on server-everything (streamableHttp), ${rounds} interleaved rounds x ${seconds} s per variant, ` +
    `raw keep-alive HTTP load generator, node ${process.version}, ${new Date().toISOString()}, ` +
    `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the end\n`,
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
