// Claude Desktop's way: the assistant spawns `atom-gov proxy --server everything --config FILE` and speaks MCP on
// its stdin/stdout. With no gateway running, the first proxy starts `atom-gov start` in the background; a second
// proxy shares it. Needs `npm run build` (the bin runs apps/cli/dist).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const bin = fileURLToPath(new URL('../apps/cli/bin/atom-gov.js', import.meta.url));
const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const memory = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');
let dir: string;
let configPath: string;
let gatewayPort: number;
const clients: Client[] = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Pids of `atom-gov start` processes using our config (the proxy started them detached). */
function backgroundGateways(): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd.includes('start') && cmd.includes(configPath)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function proxyClient(select: string[] = ['--server', 'everything']): {
  client: Client;
  transport: StdioClientTransport;
} {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'proxy', ...select, '--config', configPath],
    env: { HOME: process.env.HOME ?? dir, ATOM_GOV_DATA_DIR: dir, PATH: process.env.PATH ?? '' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'claude-desktop-like', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'desktop sample' },
    model: 'm',
  }));
  clients.push(client);
  return { client, transport };
}

/** Runs `atom-gov proxy ARGS` expecting it to refuse before serving: the client's connect fails; its stderr. */
async function refusedProxy(args: string[]): Promise<string> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'proxy', ...args],
    env: { HOME: process.env.HOME ?? dir, ATOM_GOV_DATA_DIR: dir, PATH: process.env.PATH ?? '' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const client = new Client({ name: 'x', version: '1' });
  await expect(client.connect(transport)).rejects.toThrow();
  return stderr;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-proxy-e2e-'));
  configPath = join(dir, 'mcp-governance.yaml');
  gatewayPort = await freePort();
  const [temporalPort, uiPort] = [await freePort(), await freePort()];
  writeFileSync(
    configPath,
    `atom_gov:
  version: 1.0.0
  gateway:
    host: 127.0.0.1
    port: ${gatewayPort}
    aggregate: true
  temporal:
    dev_server:
      port: ${temporalPort}
      ui_port: ${uiPort}
      headless: true
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: [${JSON.stringify(everything)}, stdio]
    - name: memory
      command: ${JSON.stringify(process.execPath)}
      args: [${JSON.stringify(memory)}]
      env:
        MEMORY_FILE_PATH: ${JSON.stringify(join(dir, 'memory.jsonl'))}
`,
  );
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  // The background gateway runs detached in its own process group (with its Temporal dev server and upstreams).
  const pids = backgroundGateways();
  for (const pid of pids) process.kill(-pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (backgroundGateways().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of backgroundGateways()) process.kill(-pid, 'SIGKILL');
});

describe('atom-gov proxy (stdio bridge)', () => {
  it('starts a gateway in the background, relays calls and sampling; a second proxy shares the gateway', async () => {
    expect(backgroundGateways()).toEqual([]);
    const first = proxyClient();
    await first.client.connect(first.transport, { timeout: 150_000 });
    expect(first.client.getServerVersion()?.name).toBe('mcp-servers/everything');
    const echo = await first.client.callTool({ name: 'echo', arguments: { message: 'from desktop' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: from desktop' }]);
    const sampled = await first.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi' } });
    expect(JSON.stringify(sampled.content)).toContain('desktop sample');
    const health = await fetch(`http://127.0.0.1:${gatewayPort}/healthz`);
    expect(health.ok).toBe(true);
    expect(backgroundGateways()).toHaveLength(1);

    const second = proxyClient();
    await second.client.connect(second.transport);
    expect((await second.client.callTool({ name: 'echo', arguments: { message: 'two' } })).content).toEqual([
      { type: 'text', text: 'Echo: two' },
    ]);
    expect(backgroundGateways()).toHaveLength(1);
  }, 180_000);

  it('--all serves every server through the aggregate endpoint, names prefixed by server', async () => {
    const { client, transport } = proxyClient(['--all']);
    await client.connect(transport, { timeout: 150_000 });
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['everything__echo', 'memory__read_graph']));
    expect(names.every((n) => n.startsWith('everything__') || n.startsWith('memory__'))).toBe(true);
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'via all' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: via all' }]);
    const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
    expect(graph.isError).not.toBe(true);
    expect(JSON.stringify(graph.content)).toContain('entities');
    expect(backgroundGateways()).toHaveLength(1);
  }, 180_000);

  it.each([
    [
      ['--server', 'nope'],
      ["unknown server 'nope'", 'configured servers: everything, memory'],
    ],
    [[], ['give either --server NAME (one of: everything, memory) or --all', 'not neither']],
    [['--all', '--server', 'memory'], ['not both']],
  ])('refuses %j with a message naming what to give', async (select, expected) => {
    const stderr = await refusedProxy([...select, '--config', configPath]);
    for (const text of expected) expect(stderr).toContain(text);
  });

  it('--all against a config without the aggregate endpoint says which key turns it on', async () => {
    const off = join(dir, 'no-aggregate.yaml');
    writeFileSync(off, readFileSync(configPath, 'utf8').replace('    aggregate: true\n', ''));
    const stderr = await refusedProxy(['--all', '--config', off]);
    expect(stderr).toContain('--all needs the aggregate endpoint, which is off');
    expect(stderr).toContain('set atom_gov.gateway.aggregate: true');
  });
});
