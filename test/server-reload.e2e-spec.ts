// Hot reload of a `servers:` entry: the config file's server definition (its args) changes while the gateway runs;
// new sessions start the new upstream, a session opened before keeps working on the process it already has.
// Real gateway, a real stdio MCP server (the drifting fixture: its instructions and tool text come from the file
// named in its args), the official SDK client.
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CALLERS, startGoverned, text, type GovernedGateway } from './support/governance-gateway.js';

const fixture = fileURLToPath(new URL('../libs/pinning/test/fixtures/drifting-server.mjs', import.meta.url));
let gw: GovernedGateway;
let defsA: string;
let defsB: string;

async function reloadsOk(): Promise<number> {
  const body = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^atom_gov_policy_reloads_total\{result="ok"\} (\d+)$/m.exec(body)?.[1] ?? NaN);
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
});
