// Every temporary file of one Jest run (specs, spawned CLIs, services) goes under one directory that the global
// teardown removes, so a run leaves nothing in /tmp even when a spec forgets to clean up after itself.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function useScratchTmpdir(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-test-run-'));
  // Like /tmp itself: services that run as another user (PostgreSQL runs as postgres) must reach their directories.
  chmodSync(dir, 0o1777);
  const previous = process.env.TMPDIR;
  // os.tmpdir() reads TMPDIR on every call, and Jest's workers and spawned processes inherit the environment.
  process.env.TMPDIR = dir;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
