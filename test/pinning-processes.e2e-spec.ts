// Several gateway processes sharing one pin lock file: each process lists its own servers at the same moment (and
// all race on one shared server's first listing); no pin is lost and the shared server is pinned once.
// Uses the built library (`npm run build`).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { LockFile } from '@atom-gov/pinning';

const built = resolve('libs/pinning/dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'atom-gov-pinning-procs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each child lists 10 servers of its own plus the shared one, then prints how many `shared` items it was shown.
const child = `
const { createPinningService } = await import(process.env.PINNING_LIB);
const pins = createPinningService({ lockPath: process.env.LOCK_PATH });
const me = process.env.CHILD;
await Promise.all(Array.from({ length: 10 }, (_, i) =>
  pins.filterList(me + '-srv' + i, 'tools', [{ name: 't' + i, description: 'from ' + me }])));
const shared = await pins.filterList('shared', 'tools', [{ name: 'common', description: 'same everywhere' }]);
console.log(JSON.stringify({ shown: shared.items.length }));
`;

describe('the pin lock file shared by processes', () => {
  it("keeps every process's pins and pins a shared server once", async () => {
    const lockPath = join(dir, 'tools.lock.json');
    const run = promisify(execFile);
    const outputs = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        run(process.execPath, ['--input-type=module', '-e', child], {
          env: { ...process.env, PINNING_LIB: built, LOCK_PATH: lockPath, CHILD: name },
          encoding: 'utf8',
        }).then(({ stdout }) => JSON.parse(stdout.trim()) as { shown: number }),
      ),
    );
    // Same definition in every process: everyone is shown it, whoever pinned it first.
    expect(outputs).toEqual([{ shown: 1 }, { shown: 1 }, { shown: 1 }, { shown: 1 }]);
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as LockFile;
    expect(Object.keys(lock.servers)).toHaveLength(41);
    for (const c of ['a', 'b', 'c', 'd'])
      for (let i = 0; i < 10; i++) expect(lock.servers[`${c}-srv${i}`]?.tools?.[`t${i}`]?.hash).toMatch(/^sha256:/);
    expect(Object.keys(lock.servers.shared!.tools!)).toEqual(['common']);
    expect(lock.servers.shared!.pending).toEqual([]);
  });
});
