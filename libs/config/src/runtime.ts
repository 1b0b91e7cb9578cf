// Where the config and the data live. This module and the loader are the only readers of process.env
// in the workspace: everyone else asks readEnv() or receives values through the config object.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface RuntimeOptions {
  configPath?: string;
  port?: number;
  host?: string;
  dataDir?: string;
  /** Environment to use instead of process.env (tests). */
  env?: Record<string, string | undefined>;
}

export interface RuntimeSettings {
  configPath: string;
  dataDir: string;
  env: Record<string, string | undefined>;
}

/** The seed's default location. */
export const DEFAULT_CONFIG_PATH = '~/.config/atom-sage/governance/mcp-governance.yaml';
export const DEFAULT_DATA_DIR = '~/.local/share/atom-gov';

/** Precedence: explicit option, then ATOM_GOV_CONFIG / ATOM_GOV_DATA_DIR, then the defaults above. */
export function resolveRuntime(opts: RuntimeOptions = {}): RuntimeSettings {
  const env = opts.env ?? { ...process.env };
  const home = homeOf(env);
  const configPath = toAbsolute(opts.configPath ?? nonEmpty(env.ATOM_GOV_CONFIG) ?? DEFAULT_CONFIG_PATH, home);
  const dataDir = toAbsolute(opts.dataDir ?? nonEmpty(env.ATOM_GOV_DATA_DIR) ?? DEFAULT_DATA_DIR, home);
  return { configPath, dataDir, env };
}

/**
 * Reads one environment variable. For packages that need a value the config does not carry
 * (e.g. the CLI's ATOM_GOV_DEBUG); pass `env` to read from a runtime's environment instead.
 */
export function readEnv(name: string, env: Record<string, string | undefined> = process.env): string | undefined {
  return nonEmpty(env[name]);
}

/** `~` and `~/x` become the home directory; other paths are returned unchanged. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** Expands `~` and resolves a relative path against `baseDir` (the config file's folder, or the cwd). */
export function toAbsolute(path: string, home: string = homedir(), baseDir: string = process.cwd()): string {
  const expanded = expandHome(path, home);
  return isAbsolute(expanded) ? resolve(expanded) : resolve(baseDir, expanded);
}

export function homeOf(env: Record<string, string | undefined>): string {
  return nonEmpty(env.HOME) ?? homedir();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
