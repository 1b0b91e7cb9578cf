import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '@atom-gov/contracts';
import { DevServerError, startDevServer, type DevServer } from './dev-server.js';
import { ensureTemporalCli } from './temporal-cli.js';

const cli = await ensureTemporalCli({ env: process.env });
const dirs: string[] = [];
const servers: DevServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startDevServer', () => {
  it('serves the namespace with every contract search attribute and the UI, then stops its process group', async () => {
    const server = await startDevServer({ temporalCli: cli, namespace: 'atom-test' });
    servers.push(server);
    const connection = await Connection.connect({ address: server.address });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'atom-test' });
      for (const def of SEARCH_ATTRIBUTES) expect(customAttributes).toHaveProperty(def.name);
    } finally {
      await connection.close();
    }
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ui = await fetch(server.uiUrl!);
    expect(ui.status).toBe(200);

    await server.stop();
    expect(await server.exited).toBeDefined();
    expect(alive(server.pid)).toBe(false);
  });

  it('keeps workflows in its database file across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atom-devserver-'));
    dirs.push(dir);
    const dbFile = join(dir, 'data', 'temporal.db');
    const first = await startDevServer({ temporalCli: cli, dbFile, headless: true });
    servers.push(first);
    let connection = await Connection.connect({ address: first.address });
    // No worker polls this queue: the workflow stays open, like an operation waiting for approval.
    await new Client({ connection }).workflow.start('waitsForApproval', {
      taskQueue: 'nobody-polls',
      workflowId: 'pending-op-1',
    });
    await connection.close();
    await first.stop();

    const second = await startDevServer({ temporalCli: cli, dbFile, headless: true, port: first.port });
    servers.push(second);
    connection = await Connection.connect({ address: second.address });
    try {
      const described = await new Client({ connection }).workflow.getHandle('pending-op-1').describe();
      expect(described.status.name).toBe('RUNNING');
    } finally {
      await connection.close();
    }
    await second.stop();
  });

  it('fails with the server output when the port is taken', async () => {
    // Our readiness probe connects to whatever listens there; drop those sockets when done.
    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const attempt = startDevServer({ temporalCli: cli, port, headless: true, startTimeoutMs: 30_000 });
      await expect(attempt).rejects.toThrow(DevServerError);
      await expect(attempt).rejects.toThrow(/exited during start[\s\S]*(address already in use|bind)/i);
    } finally {
      blocker.close();
    }
  });

  it('names the missing executable', async () => {
    await expect(startDevServer({ temporalCli: '/nonexistent/temporal', headless: true })).rejects.toThrow(
      /could not run the Temporal CLI at \/nonexistent\/temporal/,
    );
  });
});
