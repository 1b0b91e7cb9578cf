import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { watchParent } from './orphan-watchdog.js';

const spawned: ChildProcess[] = [];
function sleeper(): ChildProcess {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  spawned.push(child);
  return child;
}
async function exitsWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const timeout = new AbortController();
  const timer = delay(ms, false, { signal: timeout.signal }).catch(() => false);
  const exited = await Promise.race([once(child, 'exit').then(() => true), timer]);
  timeout.abort(); // no timer outlives the test
  return exited;
}

afterEach(async () => {
  await Promise.all(
    spawned.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    }),
  );
});

describe('watchParent', () => {
  it('runs the cleanup once the watched parent is SIGKILLed', async () => {
    const parent = sleeper();
    const orphan = sleeper();
    watchParent(`kill -KILL ${orphan.pid}`, { parentPid: parent.pid, pollSeconds: 0.2 });
    expect(await exitsWithin(orphan, 500)).toBe(false); // parent alive: nothing happens
    parent.kill('SIGKILL');
    expect(await exitsWithin(orphan, 5_000)).toBe(true);
    expect(orphan.signalCode).toBe('SIGKILL');
  });

  it('does nothing once disarmed', async () => {
    const parent = sleeper();
    const orphan = sleeper();
    const watchdog = watchParent(`kill -KILL ${orphan.pid}`, { parentPid: parent.pid, pollSeconds: 0.2 });
    watchdog.disarm();
    parent.kill('SIGKILL');
    expect(await exitsWithin(orphan, 1_500)).toBe(false);
  });
});
