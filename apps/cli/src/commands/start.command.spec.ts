import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@atom-gov/devserver';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { CliError } from '../run-cli.js';
import { describeStarted, startAll, type Started } from './start.command.js';

const temporal = temporalTestEnv();
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function writeConfig(temporalBlock: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atom-gov-start-'));
  dirs.push(dir);
  const configPath = join(dir, 'mcp-governance.yaml');
  await writeFile(configPath, `atom_gov:\n  version: 1.0.0\n  temporal:\n${temporalBlock}`);
  return configPath;
}

describe('startAll', () => {
  it('connects to a configured Temporal cluster instead of starting a dev server', async () => {
    const taskQueue = uniqueTaskQueue('start');
    const config = await writeConfig(
      `    address: ${temporal.address}\n    namespace: ${temporal.namespace}\n    task_queue: ${taskQueue}\n`,
    );
    const port = await freePort();
    let started: Started | undefined;
    try {
      started = await startAll({ config, port: String(port), dataDir: join(config, '..', 'data') });
      expect(started.devServer).toBeUndefined();
      expect(started.temporalAddress).toBe(temporal.address);
      expect(started.worker.taskQueue).toBe(taskQueue);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
      expect(describeStarted(started)).toContain(`Temporal:    ${temporal.address} (namespace ${temporal.namespace})`);
    } finally {
      for (const part of started?.parts ?? []) await part.stop();
    }
  });

  it('names the part that failed and stops what it had started', async () => {
    const config = await writeConfig(`    address: 127.0.0.1:1\n`);
    const attempt = startAll({ config, port: String(await freePort()), dataDir: join(config, '..', 'data') });
    await expect(attempt).rejects.toThrow(CliError);
    await expect(attempt).rejects.toThrow(
      /could not start the worker: could not connect to Temporal at 127\.0\.0\.1:1/,
    );
  });

  it('rejects a bad port flag with a usage error', async () => {
    const config = await writeConfig(`    address: ${temporal.address}\n`);
    await expect(startAll({ config, port: '99999' })).rejects.toThrow(/--port '99999' is not a port/);
  });
});
