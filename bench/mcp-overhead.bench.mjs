// CPU time the gateway adds per call, with a trivial in-process upstream: one target process holds an SDK McpServer
// with an `echo` tool (stateless Streamable HTTP) AND an McpGateway in front of it (no audit, no policy). The load
// generator (this process, raw keep-alive HTTP, so client costs stay out of the figure) calls the upstream directly
// and through the gateway, in interleaved rounds; the target's CPU per call through the gateway minus directly is
// the gateway's share (it then serves both the downstream and the upstream side). Run after `npm run build`:
//   node bench/mcp-overhead.bench.mjs [--calls 3000] [--rounds 3] [--sessions 1] [--cpu-prof DIR] [--baseline DIR]
// --baseline DIR: a second McpGateway built from another libs/mcp (DIR/index.js, e.g. an older commit's compiled
// src) runs in the same target process and takes part in the same interleaved rounds (A/B of a change on a busy
// machine: both see the same load). Read it against an A/A run (the same build as baseline): on 2026-11-25 that
// showed the baseline slot ~0.05 ms CPU/call cheaper than the first gateway with identical code.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http, { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};

if (process.argv.includes('--target')) {
  const { McpServer, createMcpHandler } = await import('@modelcontextprotocol/server');
  const { toNodeHandler } = await import('@modelcontextprotocol/node');
  const { z } = await import('zod');
  const { McpGateway } = await import('@atom-gov/mcp');
  const listen = (handler) =>
    new Promise((resolve) => {
      const srv = createServer(handler).listen(0, '127.0.0.1', () => resolve(srv));
    });
  const factory = () => {
    const s = new McpServer({ name: 'trivial', version: '1' });
    s.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({
      content: [{ type: 'text', text: `Echo: ${message}` }],
    }));
    return s;
  };
  const upstream = await listen(toNodeHandler(createMcpHandler(factory)));
  const upstreamUrl = `http://127.0.0.1:${upstream.address().port}/mcp`;
  const servers = [
    { name: 'trivial', transport: 'streamable_http', url: upstreamUrl, args: [], env: {}, headers: {}, share: false },
  ];
  const gateway = new McpGateway({ servers });
  const gw = await listen(
    (req, res) => void gateway.handle('trivial', req, res, { identity: { tenant: 't', user: 'u', roles: [] } }),
  );
  const b = process.argv.indexOf('--baseline');
  let baseline;
  let baselineUrl = '';
  if (b > 0) {
    const { McpGateway: Baseline } = await import(`${process.argv[b + 1]}/index.js`);
    baseline = new Baseline({ servers });
    const bl = await listen(
      (req, res) => void baseline.handle('trivial', req, res, { identity: { tenant: 't', user: 'u', roles: [] } }),
    );
    baselineUrl = ` http://127.0.0.1:${bl.address().port}/mcp/trivial`;
  }
  process.stdout.write(`${upstreamUrl} http://127.0.0.1:${gw.address().port}/mcp/trivial${baselineUrl}\n`);
  process.on('SIGTERM', async () => {
    await baseline?.close();
    await gateway.close();
    upstream.close();
    gw.close();
    process.exit(0);
  });
} else {
  const calls = arg('--calls', 3000);
  const rounds = arg('--rounds', 3);
  const sessions = arg('--sessions', 1);
  // --cpu-prof DIR: the target process writes a V8 CPU profile there.
  const prof = process.argv.indexOf('--cpu-prof');
  const profArgs = prof > 0 ? ['--cpu-prof', '--cpu-prof-dir', process.argv[prof + 1]] : [];
  const b = process.argv.indexOf('--baseline');
  const baselineArgs = b > 0 ? ['--baseline', new URL(process.argv[b + 1], `file://${process.cwd()}/`).href] : [];
  const target = spawn(
    process.execPath,
    [...profArgs, new URL(import.meta.url).pathname, '--target', ...baselineArgs],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [directUrl, gatewayUrl, baselineUrl] = await new Promise((resolve, reject) => {
    createInterface({ input: target.stdout }).once('line', (line) => resolve(line.split(' ')));
    target.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
  const cpuSeconds = () => {
    const stat = readFileSync(`/proc/${target.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const send = (agent, url, headers, body) =>
    new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  async function session(url) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await send(
      agent,
      url,
      base,
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
      }),
    );
    if (init.status !== 200) throw new Error(`initialize at ${url}: HTTP ${init.status}`);
    const headers = { ...base, 'mcp-protocol-version': '2025-06-18' };
    if (init.headers['mcp-session-id']) headers['mcp-session-id'] = init.headers['mcp-session-id'];
    await send(agent, url, headers, '{"jsonrpc":"2.0","method":"notifications/initialized"}');
    let id = 1;
    return {
      call: async () => {
        const n = id++;
        const r = await send(
          agent,
          url,
          headers,
          `{"jsonrpc":"2.0","id":${n},"method":"tools/call","params":{"name":"echo","arguments":{"message":"m${n}"}}}`,
        );
        if (r.status !== 200 || !r.body.includes(`Echo: m${n}"`)) throw new Error(`tools/call: HTTP ${r.status}`);
      },
      close: () => agent.destroy(),
    };
  }

  async function measure(url) {
    const all = await Promise.all(Array.from({ length: sessions }, () => session(url)));
    for (const s of all) for (let i = 0; i < 100; i++) await s.call();
    const lat = [];
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    await Promise.all(
      all.map(async (s) => {
        for (let i = 0; i < calls / sessions; i++) {
          const t = performance.now();
          await s.call();
          lat.push(performance.now() - t);
        }
      }),
    );
    const wall = performance.now() - t0;
    const cpu = cpuSeconds() - cpu0;
    for (const s of all) s.close();
    return { lat, wall, cpu };
  }

  const runs = { direct: [], gateway: [], baseline: [] };
  const urls = { direct: directUrl, gateway: gatewayUrl, baseline: baselineUrl };
  const variants = baselineUrl ? ['direct', 'gateway', 'baseline'] : ['direct', 'gateway'];
  try {
    for (let r = 0; r < rounds; r++) {
      // Rotating order, so no variant always runs first or last in a round.
      const order = variants.map((_, i) => variants[(i + r) % variants.length]);
      for (const k of order) runs[k].push(await measure(urls[k]));
    }
  } finally {
    target.kill('SIGTERM');
  }
  const sum = (rs) => {
    const lat = rs.flatMap((r) => r.lat).sort((a, b) => a - b);
    const cpu = rs.reduce((a, r) => a + r.cpu, 0);
    const wall = rs.reduce((a, r) => a + r.wall, 0);
    return { cpuMs: (cpu * 1000) / lat.length, p50: lat[Math.floor(lat.length / 2)], rps: (lat.length / wall) * 1000 };
  };
  const d = sum(runs.direct);
  const g = sum(runs.gateway);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `${calls} tools/call echo per round x ${rounds} interleaved rounds, ${sessions} session(s), trivial upstream in the ` +
      `target process, raw keep-alive HTTP client, node ${process.version}, load average ${load} at the end`,
  );
  console.log('| path | target process CPU ms/call | p50 ms | calls/s |\n|---|---|---|---|');
  console.log(`| direct to the upstream | ${d.cpuMs.toFixed(3)} | ${d.p50.toFixed(3)} | ${d.rps.toFixed(0)} |`);
  console.log(`| through McpGateway | ${g.cpuMs.toFixed(3)} | ${g.p50.toFixed(3)} | ${g.rps.toFixed(0)} |`);
  const bl = baselineUrl ? sum(runs.baseline) : undefined;
  if (bl)
    console.log(
      `| through McpGateway (baseline build) | ${bl.cpuMs.toFixed(3)} | ${bl.p50.toFixed(3)} | ${bl.rps.toFixed(0)} |`,
    );
  console.log(
    `gateway adds ${(g.cpuMs - d.cpuMs).toFixed(3)} ms CPU and ${(g.p50 - d.p50).toFixed(3)} ms p50 per call ` +
      `(the upstream itself costs ${d.cpuMs.toFixed(3)} ms)`,
  );
  if (bl)
    console.log(
      `baseline build adds ${(bl.cpuMs - d.cpuMs).toFixed(3)} ms CPU and ${(bl.p50 - d.p50).toFixed(3)} ms p50 per call`,
    );
}
