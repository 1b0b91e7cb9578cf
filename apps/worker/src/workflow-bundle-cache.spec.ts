import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedWorkflowBundle } from './workflow-bundle-cache.js';
import { workflowsSource } from './workflows-source.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('cachedWorkflowBundle', () => {
  it('bundles once and then reuses the file while the inputs are unchanged', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'atom-gov-bundle-'));
    dirs.push(cacheDir);
    const source = workflowsSource();
    const first = await cachedWorkflowBundle(source, cacheDir);
    const { mtimeMs } = await stat(first.codePath);
    const second = await cachedWorkflowBundle(source, cacheDir);
    expect(second.codePath).toBe(first.codePath);
    expect((await stat(second.codePath)).mtimeMs).toBe(mtimeMs);
    expect(await readdir(cacheDir)).toEqual([first.codePath.slice(cacheDir.length + 1)]);
  });
});
