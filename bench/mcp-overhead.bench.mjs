// CPU time the gateway adds per call, with a trivial in-process upstream (an SDK McpServer with an `echo` tool,
// stateless Streamable HTTP): the same client loop runs direct and through McpGateway (no audit) in one process,
// and the difference in process CPU per call is the gateway's share. Run after `npm run build`:
//   node bench/mcp-overhead.bench.mjs [--calls 2000]
import { createServer } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';
import { McpGateway } from '@atom-gov/mcp';

const callsArg = process.argv.indexOf('--calls');
const calls = callsArg > 0 ? Number(process.argv[callsArg + 1]) : 2000;
const listen = (handler) =>
  new Promise((resolve) => {
    const srv = createServer(handler).listen(0, '127.0.0.1', () => resolve(srv));
  });

const factory = () => {
  const s = new McpServer({ name: 'trivial', version: '1' });
  s.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({
    content: [{ type: 'text', text: message }],
  }));
  return s;
};
const upstream = await listen(toNodeHandler(createMcpHandler(factory)));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}/mcp`;
const gateway = new McpGateway({
  servers: [
    { name: 'trivial', transport: 'streamable_http', url: upstreamUrl, args: [], env: {}, headers: {}, share: false },
  ],
});
const gw = await listen(
  (req, res) => void gateway.handle('trivial', req, res, { identity: { tenant: 't', user: 'u', roles: [] } }),
);
const gatewayUrl = `http://127.0.0.1:${gw.address().port}/mcp/trivial`;

async function measure(url) {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  const call = () => c.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } });
  for (let i = 0; i < 200; i++) await call();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const lat = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call();
    lat.push(performance.now() - t);
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await c.close();
  lat.sort((a, b) => a - b);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000 / calls,
    p50: lat[Math.floor(lat.length / 2)],
    rps: (calls / wall) * 1000,
  };
}

const direct = await measure(upstreamUrl);
const through = await measure(gatewayUrl);
console.log(`${calls} sequential tools/call echo, trivial in-process upstream, node ${process.version}`);
console.log('| path | process CPU ms/call | p50 ms | calls/s |\n|---|---|---|---|');
console.log(`| direct | ${direct.cpuMs.toFixed(3)} | ${direct.p50.toFixed(3)} | ${direct.rps.toFixed(0)} |`);
console.log(
  `| through McpGateway | ${through.cpuMs.toFixed(3)} | ${through.p50.toFixed(3)} | ${through.rps.toFixed(0)} |`,
);
console.log(
  `gateway adds ${(through.cpuMs - direct.cpuMs).toFixed(3)} ms CPU and ${(through.p50 - direct.p50).toFixed(3)} ms p50 per call`,
);
await gateway.close();
upstream.close();
gw.close();
