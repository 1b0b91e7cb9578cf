// TemporalConnection against the real dev server: the suite's shared one, and one started late on a port that
// was dead when the connection was made (the gateway started before Temporal).
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { freePort, startDevServer, type DevServer } from '@atom-gov/devserver';
import { TemporalConnection } from './temporal-connection.js';

const address = process.env.TEMPORAL_TEST_ADDRESS!;
const namespace = process.env.TEMPORAL_TEST_NAMESPACE ?? 'default';
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

describe('TemporalConnection', () => {
  it('answers the first call over the JS connection, then moves every new call to the native transport', async () => {
    const events: string[] = [];
    const conn = new TemporalConnection({
      address,
      onTransport: (e) => events.push(e.native ? 'native' : `failed: ${String(e.error)}`),
    });
    cleanup.push(() => conn.close());
    expect(conn.transport).toBe('js');
    const first = await conn.withDeadline(Date.now() + 5_000, () => conn.workflowService.getSystemInfo({}));
    expect(first.serverVersion).toBeTruthy();
    await conn.settled();
    expect(events).toEqual(['native']);
    expect(conn.transport).toBe('native');

    // A Client on it behaves as on the JS connection: start, the duplicate-start error, describe, terminate.
    const client = new Client({ connection: conn, namespace });
    const workflowId = `temporal-connection-${Date.now()}`;
    const handle = await client.workflow.start('noSuchWorkflowType', {
      taskQueue: 'tc-no-worker',
      workflowId,
      args: [],
    });
    await expect(
      client.workflow.start('noSuchWorkflowType', { taskQueue: 'tc-no-worker', workflowId, args: [] }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test done');
    expect((await handle.describe()).status.name).toBe('TERMINATED');

    // A deadline still bounds a call (the native transport reports an expired deadline as CANCELLED "Timeout
    // expired"; the gateway only relies on the rejection).
    const t0 = Date.now();
    await expect(conn.withDeadline(Date.now() - 1, () => conn.workflowService.getSystemInfo({}))).rejects.toMatchObject(
      { code: expect.any(Number) },
    );
    expect(Date.now() - t0).toBeLessThan(2_000);
  }, 30_000);

  it('while Temporal is unreachable fails calls within their deadline, retries the native transport no sooner than retryMs, and takes it once Temporal is up', async () => {
    const port = await freePort('127.0.0.1');
    const failures: string[] = [];
    let nativeAt = 0;
    const conn = new TemporalConnection({
      address: `127.0.0.1:${port}`,
      connectTimeoutMs: 500,
      retryMs: 2_000,
      onTransport: (e) => (e.native ? (nativeAt = Date.now()) : failures.push(String(e.error))),
    });
    cleanup.push(() => conn.close());

    const t0 = Date.now();
    await expect(conn.withDeadline(Date.now() + 1_000, () => conn.workflowService.getSystemInfo({}))).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(5_000);
    await conn.settled();
    expect(conn.transport).toBe('js');
    expect(failures).toHaveLength(1);
    // Asking again at once does not start a second attempt (retryMs has not passed).
    void conn.workflowService;
    await conn.settled();
    expect(failures).toHaveLength(1);

    const server: DevServer = await startDevServer({
      temporalCli: process.env.TEMPORAL_TEST_CLI!,
      headless: true,
      port,
      namespace,
    });
    cleanup.push(() => server.stop());
    // The next calls succeed (over JS at first) and, past retryMs, one of them brings the native transport in.
    const deadline = Date.now() + 20_000;
    const transport = (): string => conn.transport;
    while (transport() !== 'native' && Date.now() < deadline) {
      await conn.withDeadline(Date.now() + 3_000, () => conn.workflowService.getSystemInfo({}));
      await conn.settled();
      if (transport() !== 'native') await new Promise((r) => setTimeout(r, 100));
    }
    expect(conn.transport).toBe('native');
    expect(nativeAt).toBeGreaterThan(0);
    const info = await conn.withDeadline(Date.now() + 3_000, () =>
      conn.workflowService.describeNamespace({ namespace }),
    );
    expect(info.namespaceInfo?.name).toBe(namespace);
  }, 90_000);
});
