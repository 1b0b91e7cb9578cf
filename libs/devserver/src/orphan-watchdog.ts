// Node cannot tie a child's life to its parent's: a SIGKILLed parent (OOM killer, `kill -9`, a CI timeout) runs no
// 'exit' handler, so a daemon it started lives on. A tiny detached shell polls the parent and runs the cleanup
// command once the parent is gone.
import { spawn } from 'node:child_process';

export interface OrphanWatchdog {
  /** Stops watching (the owner cleaned up itself). Idempotent. */
  disarm(): void;
  readonly pid: number | undefined;
}

/**
 * Runs `cleanup` (a `sh -c` command line) after process `parentPid` (default: this process) has exited.
 * The watcher is detached and unreferenced, so it never keeps this process alive.
 */
export function watchParent(cleanup: string, opts: { parentPid?: number; pollSeconds?: number } = {}): OrphanWatchdog {
  const parentPid = opts.parentPid ?? process.pid;
  const poll = opts.pollSeconds ?? 1;
  const script = `while kill -0 ${parentPid} 2>/dev/null; do sleep ${poll}; done; ${cleanup}`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined); // no shell: nothing to watch with; the owner's own exit handlers remain
  child.unref();
  let armed = true;
  return {
    pid: child.pid,
    disarm() {
      if (!armed) return;
      armed = false;
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
