// `atom-gov start` as a user runs it: the BUILT CLI on the example config, embedded Temporal dev server on free
// ports, a data dir of its own. Healthy within 60 s, the Temporal UI answers, an MCP call spawns an upstream
// server, and after SIGTERM the process has exited within 10 s leaving no process it started behind.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { freePort } from '@atom-gov/devserver';
import { processTree, stillAlive, type ProcessInfo } from '@atom-gov/testing';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'apps/cli/bin/atom-gov.js');
const built = join(root, 'apps/cli/dist/main.js');

let dataDir: string;
let child: ChildProcess;
let output = '';
let ports: { gateway: number; temporal: number; ui: number };

beforeAll(async () => {
  if (!existsSync(built)) throw new Error('the CLI is not built: run `npm run build` before this test');
  dataDir = await mkdtemp(join(tmpdir(), 'atom-gov-start-e2e-'));
  ports = { gateway: await freePort(), temporal: await freePort(), ui: await freePort() };
});

afterAll(async () => {
  // Only if an assertion failed half-way: never leave the product running.
  if (child && child.exitCode === null && child.signalCode === null) {
    for (const p of await processTree(child.pid!)) process.kill(p.pid, 'SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
});

async function untilHealthy(url: string, deadline: number): Promise<{ status: number; body: unknown }> {
  let last: { status: number; body: unknown } = { status: 0, body: 'no answer' };
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`atom-gov start exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      last = { status: res.status, body: await res.json() };
      if (res.status === 200) return last;
    } catch (error) {
      last = { status: 0, body: (error as Error).message };
    }
    // No push notification exists for "healthy": poll, briefly.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`not healthy in time; last answer ${JSON.stringify(last)}\n${output}`);
}

describe('atom-gov start', () => {
  it('becomes healthy, serves MCP and the Temporal UI, and leaves nothing behind after SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.TEMPORAL_ADDRESS; // the embedded default
    delete env.ATOM_GOV_CONFIG;
    const started = Date.now();
    child = spawn(
      process.execPath,
      [
        bin,
        'start',
        '--config',
        join(root, 'examples/mcp-governance.yaml'),
        '--port',
        String(ports.gateway),
        '--data-dir',
        dataDir,
        '--temporal-port',
        String(ports.temporal),
        '--temporal-ui-port',
        String(ports.ui),
      ],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    const gateway = `http://127.0.0.1:${ports.gateway}`;
    const health = await untilHealthy(`${gateway}/healthz`, started + 60_000);
    const healthyMs = Date.now() - started;
    expect(health.body).toMatchObject({ status: 'ok', down: [] });
    expect(output).toContain(`${gateway}/mcp/everything`);
    expect(output).toContain(`Temporal UI: http://127.0.0.1:${ports.ui}`);
    expect(existsSync(join(dataDir, 'temporal.db'))).toBe(true);
    process.stderr.write(`atom-gov start: healthy after ${healthyMs} ms\n`);

    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/<html/i);

    // An MCP session makes the gateway start the upstream server: it must be cleaned up too.
    const client = new Client({ name: 'start-e2e', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway}/mcp/everything`)));
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(0);

    const tree = (await processTree(child.pid!)).filter((p) => p.pid !== child.pid);
    const describeTree = (ps: ProcessInfo[]) => ps.map((p) => `${p.pid} ${p.command.slice(0, 120)}`).join('\n');
    expect(tree.some((p) => /temporal.* server start-dev/.test(p.command))).toBe(true);
    expect(tree.some((p) => /server-everything/.test(p.command))).toBe(true);

    const signalled = Date.now();
    child.kill('SIGTERM');
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
    const result = await Promise.race([exited, timeout]);
    expect(result).not.toBe('timeout');
    expect(result).toEqual([0, null]);
    process.stderr.write(`atom-gov start: stopped ${Date.now() - signalled} ms after SIGTERM\n`);
    await client.close().catch(() => undefined);

    const left = await stillAlive(tree.map((p) => p.pid));
    expect(describeTree(left)).toBe('');
  }, 120_000);
});
