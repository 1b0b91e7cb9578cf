// Runs the BUILT `atom-gov` CLI (apps/cli/bin -> dist/: `npm run build` first) as a user would, capturing its output.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ATOM_GOV_BIN = fileURLToPath(new URL('../../apps/cli/bin/atom-gov.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to (and overriding) the test process's environment. */
  env?: Record<string, string>;
  /** Sees the whole stderr so far each time more arrives (progress lines). */
  onStderr?: (stderr: string) => void;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ATOM_GOV_BIN, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
