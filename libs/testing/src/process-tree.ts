import { readdir, readFile } from 'node:fs/promises';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  command: string;
}

/** Every live process on this machine (Linux /proc), skipping zombies: they hold no resources. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      out.push({
        pid: Number(entry),
        ppid: Number(fields[1]),
        pgid: Number(fields[2]),
        command: cmdline.split('\0').join(' ').trim(),
      });
    } catch {
      // the process exited while we read it
    }
  }
  return out;
}

/**
 * `root` and all its descendants, plus every member of a process group that one of them leads (a detached
 * child's group keeps its members even when they are re-parented to init after their parent died).
 */
export async function processTree(root: number): Promise<ProcessInfo[]> {
  const all = await listProcesses();
  const found = new Map<number, ProcessInfo>();
  const groups = new Set<number>();
  const add = (p: ProcessInfo) => {
    if (found.has(p.pid)) return false;
    found.set(p.pid, p);
    if (p.pgid === p.pid) groups.add(p.pgid);
    return true;
  };
  const self = all.find((p) => p.pid === root);
  if (self) add(self);
  for (let changed = true; changed;) {
    changed = false;
    for (const p of all) {
      if (found.has(p.pid)) continue;
      if (found.has(p.ppid) || groups.has(p.pgid)) changed = add(p) || changed;
    }
  }
  return [...found.values()];
}

/** The subset of `pids` still alive (not zombies). */
export async function stillAlive(pids: readonly number[]): Promise<ProcessInfo[]> {
  const wanted = new Set(pids);
  return (await listProcesses()).filter((p) => wanted.has(p.pid));
}
