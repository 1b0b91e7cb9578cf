// `policy check` as a function: load, and summarise or report, without printing.
import { relative } from 'node:path';
import { ConfigError, type ConfigIssue } from './errors.js';
import { loadConfig } from './loader.js';
import type { RuntimeOptions } from './runtime.js';
import type { AtomGovConfig } from './types.js';

export type CheckResult =
  { ok: true; config: AtomGovConfig; summary: string; warnings: ConfigIssue[] } | { ok: false; issues: ConfigIssue[] };

/** Loads the config; on success the summary reads `OK: <file> (<n> servers, <m> rules, version <hash>)`. */
export async function checkConfig(opts: RuntimeOptions = {}, cwd: string = process.cwd()): Promise<CheckResult> {
  try {
    const config = await loadConfig(opts);
    const summary = `OK: ${displayPath(config.configPath, cwd)} (${config.servers.length} servers, ${config.rules.length} rules, version ${config.version.slice(0, 12)})`;
    return { ok: true, config, summary, warnings: config.warnings.map((w) => relativeIssue(w, cwd)) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, issues: error.issues.map((i) => relativeIssue(i, cwd)) };
    throw error;
  }
}

/** Paths under the working directory are shown relative to it; others stay absolute. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') ? file : rel;
}

function relativeIssue(issue: ConfigIssue, cwd: string): ConfigIssue {
  return { ...issue, file: displayPath(issue.file, cwd) };
}
