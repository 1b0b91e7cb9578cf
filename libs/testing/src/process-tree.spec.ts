import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { processTree, stillAlive } from './process-tree.js';

describe('processTree', () => {
  it('finds a child, its grandchild and a detached group member, and not the test runner', async () => {
    // A node parent with one child in its own process group (like the dev server) and one plain child.
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const { spawn } = require('node:child_process');
         const a = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
         const b = spawn('sleep', ['30'], { stdio: 'ignore' });
         console.log(a.pid + ' ' + b.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const [detached, plain] = line.toString().trim().split(' ').map(Number) as [number, number];
    try {
      const tree = await processTree(parent.pid!);
      const pids = tree.map((p) => p.pid);
      expect(pids).toEqual(expect.arrayContaining([parent.pid, detached, plain]));
      expect(pids).not.toContain(process.pid);
      expect(tree.find((p) => p.pid === detached)?.pgid).toBe(detached);
    } finally {
      for (const pid of [detached, plain, parent.pid!]) process.kill(pid, 'SIGKILL');
    }
    await once(parent, 'exit');
    // They are not our children, so there is no exit event: poll /proc until init has reaped them.
    const deadline = Date.now() + 5_000;
    while ((await stillAlive([detached, plain])).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await stillAlive([detached, plain])).toEqual([]);
  });
});
