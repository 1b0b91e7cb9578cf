// Benchmark target: mcp-proxy (npm, no governance) in front of the same Streamable HTTP server the other variants
// use. mcp-proxy's CLI only fronts a stdio command, so this is its CLI's own wiring (bin/mcp-proxy: one upstream
// SDK Client shared by every downstream session, startHTTPServer + proxyServer with the CLI's defaults) with the
// upstream Client on Streamable HTTP instead of stdio. Prints the endpoint URL on stdout.
//   node bench/mcp-proxy.target.mjs http://127.0.0.1:PORT/mcp
import { createServer as createNetServer } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Server } from '@modelcontextprotocol/server';
import { proxyServer, resolveVersionNegotiation, startHTTPServer } from 'mcp-proxy';

const upstreamUrl = process.argv[2];
if (!upstreamUrl) throw new Error('usage: mcp-proxy.target.mjs UPSTREAM_URL');
const client = new Client(
  { name: 'mcp-proxy', version: '1.0.0' },
  { capabilities: {}, versionNegotiation: resolveVersionNegotiation('legacy') },
);
await client.connect(new StreamableHTTPClientTransport(new URL(upstreamUrl)));
const serverCapabilities = client.getServerCapabilities();
// startHTTPServer does not report the port it bound, so take a free one first.
const port = await new Promise((resolve) => {
  const s = createNetServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = await startHTTPServer({
  host: '127.0.0.1',
  port,
  streamEndpoint: '/mcp',
  sseEndpoint: null,
  createServer: async () => {
    const s = new Server(client.getServerVersion(), {
      capabilities: serverCapabilities,
      instructions: client.getInstructions(),
    });
    await proxyServer({ client, server: s, serverCapabilities, requestTimeout: 300_000 });
    return s;
  },
});
process.stdout.write(`http://127.0.0.1:${port}/mcp\n`);
process.on('SIGTERM', async () => {
  await server.close();
  await client.close();
  process.exit(0);
});
