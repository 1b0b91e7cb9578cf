// Issue 5 fault case: the gateway is SIGKILLed while an assistant's governed call waits for approval. The
// operation lives on in Temporal: the approval is still recorded, and with no gateway left to report an outcome
// the reservation is released by the outcome timeout. Real worker and dev server; the gateway runs in its own
// process from the built packages (`npm run build` first).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type GovernedStack, startGovernedStack } from './support/governed-stack.js';

const KEY = 'agk_erin_0123456789ab';
const OUTCOME_TIMEOUT_MS = 3000;

let stack: GovernedStack;
let child: ChildProcess | undefined;

beforeAll(async () => {
  // No gateway in this process: the test runs one in a child process it can SIGKILL.
  stack = await startGovernedStack({
    name: 'gw-killed',
    keys: [{ name: 'erin', key: KEY, user: 'erin@company.com', roles: ['dev'] }],
    policies: {
      'p.yaml': `policy:
  name: echo_approved_and_counted
  trigger: { mcp_server: everything, operation: echo }
  action:
    require_approval: { approvers: [alice@company.com], timeout: 5m, on_timeout: deny }
    quota: { limit: 10/day, per: tenant }
`,
    },
    gateway: false,
  });
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await stack?.close();
});

/** Starts the fixture gateway process and resolves with its URL once it listens. */
function startChildGateway(): Promise<string> {
  child = spawn(
    process.execPath,
    [
      join(process.cwd(), 'test/fixtures/governed-gateway.mjs'),
      stack.configPath,
      stack.temporalAddress,
      String(OUTCOME_TIMEOUT_MS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const proc = child;
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`gateway fixture exited with ${code}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.startsWith('ready ')) resolve(line.slice('ready '.length));
    });
  });
}

const pendingWith = (args: Record<string, unknown>) => stack.pendingWith(args);

describe('gateway killed while a governed call waits', () => {
  it('keeps the operation: the approval is recorded, and the reservation is released by the outcome timeout', async () => {
    const url = await startChildGateway();
    const client = new Client({ name: 'killed-e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp/everything`), {
        requestInit: { headers: { authorization: `Bearer ${KEY}` } },
      }),
    );
    const args = { message: 'deploy while the gateway dies' };
    const call = client.callTool({ name: 'echo', arguments: args });
    call.catch(() => undefined); // fails once the gateway is gone
    const op = await pendingWith(args);
    expect(op.state.quotas).toMatchObject([{ resource: 'api_calls', status: 'reserved', reserved: 1 }]);

    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGKILL');
    await exited;
    await expect(call).rejects.toThrow();

    // The approver still decides on the operation; the vote is recorded and allows it.
    const decided = await stack.gc.decide(op.operationId, {
      approver: 'alice@company.com',
      decision: 'approve',
      channel: 'cli',
    });
    expect(decided).toMatchObject({ decision: 'allow', approvals: [{ approver: 'alice@company.com' }] });

    // Nobody reports an outcome: after the timeout the reservation goes back and the operation ends as expired.
    const final = await stack.gc.result(op.operationId);
    expect(final).toMatchObject({
      status: 'expired',
      decision: 'allow',
      quotas: [{ resource: 'api_calls', status: 'released' }],
    });
    const records = await stack.audit.query({ operationId: op.operationId, tenant: stack.tenant });
    expect(records.map((r) => r.intent)).toEqual(
      expect.arrayContaining([
        'vote: approve by alice@company.com via cli',
        'expired: allowed, but the call was not made in time; reservation released',
      ]),
    );
    await client.close().catch(() => undefined);
  }, 90_000);
});
