// Throughput and added latency of tools/call echo: server-everything directly (Streamable HTTP), through the
// ATOM-GOV gateway (audit on), and through mcp-proxy (no governance), at 8 and 64 concurrent sessions.
// Run after `npm run build`: node bench/mcp-gateway.bench.mjs [--seconds 5]   (writes a table to stdout)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const mcpProxy = require.resolve('mcp-proxy/dist/bin/mcp-proxy.mjs');
const secArg = process.argv.indexOf('--seconds');
const seconds = secArg > 0 ? Number(process.argv[secArg + 1]) : 5;
const children = [];

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitHttp(url) {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url, { method: 'GET' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`no answer from ${url}`);
}

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  children.push(child);
  return child;
}

/** CPU seconds (user + system) of a process from /proc. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function run(url, sessions, cpuPid) {
  const clients = await Promise.all(
    Array.from({ length: sessions }, async () => {
      const c = new Client({ name: 'bench', version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(url)));
      return c;
    }),
  );
  const call = (c) => c.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'bench' } } });
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < 20; i++) await call(c);
    }),
  ); // warm-up
  const latencies = [];
  const cpu0 = cpuPid ? cpuSeconds(cpuPid) : 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < until) {
        const t = performance.now();
        await call(c);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const cpu = cpuPid ? cpuSeconds(cpuPid) - cpu0 : 0;
  await Promise.all(clients.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return {
    calls: latencies.length,
    rps: latencies.length / seconds,
    p50: q(0.5),
    p99: q(0.99),
    cpuMsPerCall: (cpu * 1000) / latencies.length,
  };
}

const rows = [];
try {
  const directPort = await freePort();
  start(process.execPath, [everything, 'streamableHttp'], { PORT: String(directPort) });
  const direct = `http://127.0.0.1:${directPort}/mcp`;
  await waitHttp(direct);

  const gw = start(process.execPath, [new URL('./mcp-gateway.target.mjs', import.meta.url).pathname]);
  const gatewayUrl = await new Promise((resolve) => createInterface({ input: gw.stdout }).once('line', resolve));

  const proxyPort = await freePort();
  start(process.execPath, [
    mcpProxy,
    '--port',
    String(proxyPort),
    '--host',
    '127.0.0.1',
    '--',
    process.execPath,
    everything,
    'stdio',
  ]);
  const proxyUrl = `http://127.0.0.1:${proxyPort}/mcp`;
  await waitHttp(proxyUrl);

  for (const sessions of [8, 64]) {
    const d = await run(direct, sessions);
    const g = await run(gatewayUrl, sessions, gw.pid);
    const gatewayCpuMsPerCall = g.cpuMsPerCall;
    const p = await run(proxyUrl, sessions);
    rows.push({ sessions, d, g, p, gatewayCpuMsPerCall });
  }
} finally {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

const f = (n, d = 2) => n.toFixed(d);
console.log(`tools/call echo, ${seconds} s per run, node ${process.version}, ${new Date().toISOString()}\n`);
console.log(
  '| sessions | direct rps | ATOM-GOV rps (audit on) | mcp-proxy rps | ATOM-GOV / direct | ATOM-GOV / mcp-proxy | direct p50/p99 ms | ATOM-GOV added p50/p99 ms | mcp-proxy added p50/p99 ms | gateway process CPU ms/call (steady state) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const { sessions, d, g, p, gatewayCpuMsPerCall } of rows) {
  console.log(
    `| ${sessions} | ${f(d.rps, 0)} | ${f(g.rps, 0)} | ${f(p.rps, 0)} | ${f(g.rps / d.rps)} | ${f(g.rps / p.rps)} | ${f(d.p50)}/${f(d.p99)} | ${f(g.p50 - d.p50)}/${f(g.p99 - d.p99)} | ${f(p.p50 - d.p50)}/${f(p.p99 - d.p99)} | ${f(gatewayCpuMsPerCall, 3)} |`,
  );
}
