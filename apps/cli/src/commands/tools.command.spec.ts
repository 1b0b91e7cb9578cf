import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { pinServer } from '@atom-gov/pinning';
import { CliError } from '../run-cli.js';
import { toolsApproveCommand, toolsPinCommand, toolsStatusCommand, type ToolsOutput } from './tools.command.js';

const dir = mkdtempSync(join(tmpdir(), 'tools-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lock = join(dir, 'tools.lock.json');
function capture(): ToolsOutput & { text: () => string } {
  let text = '';
  return { stdout: (t) => void (text += t), stderr: (t) => void (text += t), text: () => text };
}

describe('atom-gov tools', () => {
  it('names what is missing or wrong', async () => {
    await expect(toolsPinCommand({ lock }, capture())).rejects.toThrow(
      new CliError('--server is required (e.g. --server filesystem)', 2),
    );
    await expect(toolsApproveCommand({ lock, server: 's' }, capture())).rejects.toThrow(/--tool is required/);
    await expect(toolsApproveCommand({ lock, server: 's', tool: 't', kind: 'widgets' }, capture())).rejects.toThrow(
      "--kind 'widgets' is not one of: tools, prompts, resources, resourceTemplates, instructions",
    );
    await expect(toolsStatusCommand({ lock, format: 'xml' }, capture())).rejects.toThrow(
      "--format 'xml' is not one of: table, json",
    );
    const config = join(dir, 'c.yaml');
    writeFileSync(config, 'atom_gov:\n  servers:\n    - name: memory\n      command: node\n      args: [x.js]\n');
    await expect(toolsPinCommand({ config, dataDir: dir, server: 'mem' }, capture())).rejects.toThrow(
      /no server 'mem' in .*c\.yaml \(configured: memory\)/,
    );
    await expect(toolsApproveCommand({ lock, server: 'nope', tool: 't' }, capture())).rejects.toThrow(
      /no pins for server 'nope'/,
    );
  });

  it('status lists pinned items, exits 0 when nothing awaits review, and speaks JSON', async () => {
    expect(await toolsStatusCommand({ lock }, capture())).toBe(0);
    await pinServer(
      lock,
      'wiki',
      { tools: [{ name: 'search' }], prompts: [], resources: [], resourceTemplates: [] },
      { approver: 'ops' },
    );
    const out = capture();
    expect(await toolsStatusCommand({ lock, server: 'wiki' }, out)).toBe(0);
    expect(out.text()).toMatch(/pinned\s+wiki\s+tools\s+search\s+sha256:[0-9a-f]{12}…\s+\S+\s+ops/);
    expect(out.text()).toContain('1 pinned, 0 pending review');
    const json = capture();
    await toolsStatusCommand({ lock, format: 'json' }, json);
    expect(JSON.parse(json.text())).toMatchObject([
      { server: 'wiki', kind: 'tools', name: 'search', state: 'pinned', approvedBy: 'ops' },
    ]);
  });
});
