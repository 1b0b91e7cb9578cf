// Test helper (not exported): loads a config written into a fresh temp folder.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AtomGovConfig, loadConfig } from '@atom-gov/config';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function writeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-policy-'));
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return dir;
}

/** Loads `mcp-governance.yaml` (and any other files) from a temp tree; HOME and the data dir stay inside it. */
export async function loadTree(files: Record<string, string>): Promise<AtomGovConfig> {
  const dir = writeTree(files);
  return loadConfig({
    configPath: join(dir, 'mcp-governance.yaml'),
    dataDir: join(dir, 'data'),
    env: { HOME: dir, PATH: process.env.PATH },
  });
}
