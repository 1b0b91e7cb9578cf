// Hot reload of `servers:` entries, the config file edited on disk while the gateway runs: a changed definition
// (its args) serves new sessions with the new upstream while a session opened before keeps its process; an added
// server is served without a restart; a removed one ends its sessions (the call in flight gets an error naming the
// removal, the upstream process is gone) and answers new requests 404. Real gateway, real stdio MCP servers (the
// drifting fixture: its instructions and tool text come from the file named in its args; server-everything;
// server-memory), the official SDK client.
import { mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CALLERS, server, startGoverned, text, type GovernedGateway } from './support/governance-gateway.js';

const fixture = fileURLToPath(new URL('../libs/pinning/test/fixtures/drifting-server.mjs', import.meta.url));
let gw: GovernedGateway;
let defsA: string;
let defsB: string;

async function reloadsOk(): Promise<number> {
  const body = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^atom_gov_policy_reloads_total\{result="ok"\} (\d+)$/m.exec(body)?.[1] ?? NaN);
}

/** Replaces the config file (write + rename, as editors do) and waits for the gateway's successful reload. */
async function editConfig(edit: (config: string) => string): Promise<void> {
  const okBefore = await reloadsOk();
  const config = readFileSync(gw.configPath, 'utf8');
  const next = edit(config);
  expect(next).not.toBe(config);
  writeFileSync(`${gw.configPath}.tmp`, next);
  renameSync(`${gw.configPath}.tmp`, gw.configPath);
  const end = Date.now() + 15_000;
  while ((await reloadsOk()) === okBefore) {
    if (Date.now() > end) throw new Error('timed out waiting for the config reload');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Pids of processes whose environment carries `mark` (the upstreams this test configured with it). */
function markedProcesses(mark: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(mark)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Process exits are not observable from here: polls /proc until no marked process is left (bounded). */
async function markedGoneWithin(mark: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = markedProcesses(mark);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = markedProcesses(mark);
  }
  return left;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-server-reload-'));
  defsA = join(dir, 'a.json');
  defsB = join(dir, 'b.json');
  writeFileSync(defsA, JSON.stringify({ description: 'lookup v1', instructions: 'Version A.' }));
  writeFileSync(defsB, JSON.stringify({ description: 'lookup v2', instructions: 'Version B.' }));
  // Pinning off: this test is about the server definition, not about the changed instructions it brings.
  gw = await startGoverned(`  pinning: off
  servers:
    - name: drifting
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([fixture, defsA])}
`);
});
afterAll(async () => gw?.close());

describe('hot reload of server definitions', () => {
  it('new sessions get the changed command line; an open session keeps its upstream until it ends', async () => {
    const before = await gw.connect(CALLERS.alice, 'drifting');
    expect(before.getInstructions()).toBe('Version A.');

    const okBefore = await reloadsOk();
    const config = readFileSync(gw.configPath, 'utf8');
    expect(config).toContain(defsA);
    writeFileSync(`${gw.configPath}.tmp`, config.replace(defsA, defsB));
    renameSync(`${gw.configPath}.tmp`, gw.configPath);
    const end = Date.now() + 15_000;
    while ((await reloadsOk()) === okBefore) {
      if (Date.now() > end) throw new Error('timed out waiting for the config reload');
      await new Promise((r) => setTimeout(r, 25));
    }

    const after = await gw.connect(CALLERS.bob, 'drifting');
    expect(after.getInstructions()).toBe('Version B.');
    const tools = (await after.listTools()).tools;
    expect(tools.find((t) => t.name === 'lookup')?.description).toBe('lookup v2');

    // The session opened before the change still talks to its own (old) upstream process.
    expect((await before.listTools()).tools.find((t) => t.name === 'lookup')?.description).toBe('lookup v1');
    expect(text(await before.callTool({ name: 'lookup', arguments: { key: 'k' } }))).toBe('value of k');
    await before.close();
    expect(text(await after.callTool({ name: 'lookup', arguments: { key: 'j' } }))).toBe('value of j');
  });

  const mark = `ATOM_GOV_E2E_MARK=server-reload-${process.pid}-${Date.now()}`;

  it('a server added to the config file is served without a restart', async () => {
    const unknown = await fetch(`${gw.url}/mcp/notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLERS.alice.key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    const [name, value] = mark.split('=') as [string, string];
    await editConfig(
      (config) =>
        config +
        // The memory server keeps its graph in the test's directory, not in its package.
        server(
          'notes',
          'memory',
          `      env:\n        MEMORY_FILE_PATH: ${JSON.stringify(join(gw.dir, 'memory.jsonl'))}\n`,
        ) +
        server('everything', 'everything', `      env:\n        ${name}: ${JSON.stringify(value)}\n`),
    );
    const notes = await gw.connect(CALLERS.alice, 'notes');
    const created = await notes.callTool({
      name: 'create_entities',
      arguments: { entities: [{ name: 'reload', entityType: 'test', observations: ['added at runtime'] }] },
    });
    expect(text(created)).toContain('added at runtime');
    const everything = await gw.connect(CALLERS.bob, 'everything');
    expect(text(await everything.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
    expect(markedProcesses(mark)).toHaveLength(1);
  });

  it('a server removed from the config file ends its sessions and answers new requests 404', async () => {
    const everything = await gw.connect(CALLERS.alice, 'everything');
    expect(markedProcesses(mark).length).toBeGreaterThanOrEqual(1);
    const notes = await gw.connect(CALLERS.bob, 'notes');

    // A long call in flight when the server goes: its first progress step proves it reached the upstream.
    let started!: () => void;
    const reached = new Promise<void>((r) => (started = r));
    const outcome = everything
      .callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
        { onprogress: () => started(), timeout: 60_000 },
      )
      .then(
        () => new Error('the call was answered'),
        (error: unknown) => error as Error,
      );
    await reached;

    await editConfig((config) => {
      const start = config.indexOf('    - name: everything\n');
      expect(start).toBeGreaterThan(0);
      return config.slice(0, start); // the everything entry is the last one
    });

    expect((await outcome).message).toContain("MCP server 'everything' was removed from the gateway configuration");
    // Every upstream process of the removed server is gone (sessions of alice and bob alike).
    expect(await markedGoneWithin(mark, 5_000)).toEqual([]);

    const next = await fetch(`${gw.url}/mcp/everything`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${CALLERS.alice.key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } },
      }),
    });
    expect(next.status).toBe(404);
    expect(((await next.json()) as { error: { message: string } }).error.message).toMatch(
      /^MCP server 'everything' was removed from the gateway configuration at .*Configured servers: drifting, notes$/,
    );
    await expect(everything.listTools()).rejects.toThrow(/removed from the gateway configuration/);

    // The other servers' sessions go on.
    expect(text(await notes.callTool({ name: 'read_graph', arguments: {} }))).toContain('added at runtime');
  });
});
