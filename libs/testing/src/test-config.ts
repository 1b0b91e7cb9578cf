import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type AtomGovConfig } from '@atom-gov/config';

/**
 * Loads a real config through @atom-gov/config from YAML written to a fresh temp dir (also the data dir).
 * `body` is the content under `atom_gov:`, indented by two spaces.
 */
export async function loadTestConfig(body: string): Promise<{ config: AtomGovConfig; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'atom-gov-test-'));
  const configPath = join(dir, 'mcp-governance.yaml');
  await writeFile(configPath, `atom_gov:\n  version: 1.0.0\n${body}`);
  const config = await loadConfig({ configPath, dataDir: join(dir, 'data'), env: { ...process.env } });
  return { config, dir };
}
