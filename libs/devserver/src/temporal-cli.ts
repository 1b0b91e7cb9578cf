import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface EnsureTemporalCliOptions {
  /** Environment for the script (PATH, HOME, ATOM_GOV_CACHE_DIR, XDG_CACHE_HOME). */
  env: Record<string, string | undefined>;
  /** Receives the script's progress lines (e.g. "building ... once per machine"). */
  onMessage?: (line: string) => void;
}

/** Path of scripts/ensure-temporal.sh in this checkout; the same relative path from src/ and dist/. */
export const ensureTemporalScript = fileURLToPath(new URL('../../../scripts/ensure-temporal.sh', import.meta.url));

/**
 * Returns the path of the pinned Temporal CLI, building it once per machine if needed. The logic lives in
 * scripts/ensure-temporal.sh so that setup scripts, tests and `atom-gov start` share one implementation.
 */
export async function ensureTemporalCli(opts: EnsureTemporalCliOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [ensureTemporalScript],
      { env: opts.env as NodeJS.ProcessEnv, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        const path = stdout.trim().split('\n').pop() ?? '';
        if (error || !path) {
          const detail = stderr.trim().split('\n').slice(-5).join('\n');
          reject(new Error(`could not find or build the Temporal CLI:\n${detail || (error?.message ?? 'no output')}`));
        } else resolve(path);
      },
    );
    if (opts.onMessage) {
      const onMessage = opts.onMessage;
      child.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) onMessage(line.trim());
      });
    }
  });
}
