// Hard quotas on units known only after the call (bytes, compute seconds), end to end: the official MCP SDK client
// calls through the real gateway (server-everything upstream), the real worker reserves one unit before the call and
// commits the measured usage after it (even past the limit: the call happened), and the NEXT call is refused, for
// the SDK client and for the built `atom-gov call` (exit 10). `npm run build` first (the CLI runs from dist/).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditEvent } from '@atom-gov/audit';
import { OPERATION_META_KEY } from '@atom-gov/contracts';
import { type Client } from '@modelcontextprotocol/client';
import { version as uuidVersion } from 'uuid';
import { runCli } from './support/atom-gov-cli.js';
import { text } from './support/governance-gateway.js';
import { type GovernedStack, startGovernedStack } from './support/governed-stack.js';

const KEY = 'agk_quota_dev_0123456789';
/** Far less than one tiny image (a base64 PNG of some 1,500 bytes): one call takes the period past it. */
const BYTES_LIMIT = 1000;

let stack: GovernedStack;
let client: Client;

beforeAll(async () => {
  stack = await startGovernedStack({
    name: 'hard-quota',
    keys: [{ name: 'dev', key: KEY, user: 'dev@company.com', roles: ['dev'] }],
    policies: {
      'quota.yaml': `policy:
  name: image_bytes_hard
  trigger: { mcp_server: everything, operation: get-tiny-image }
  action:
    quota: { limit: ${BYTES_LIMIT}/day, resource: bytes, per: tenant, enforcement: hard }
---
policy:
  name: echo_compute_hard
  trigger: { mcp_server: everything, operation: echo }
  action:
    quota: { limit: 1/day, resource: compute_seconds, per: tenant, enforcement: hard }
`,
    },
  });
  client = await stack.connect(KEY);
}, 120_000);

afterAll(async () => stack?.close());

/** The gateway's own audit records of calls to `tool` (the workflow's records have uuid v5 ids), oldest first. */
async function gatewayRecords(tool: string): Promise<AuditEvent[]> {
  return (await stack.gatewayRecords({ target: tool })).reverse();
}

const cli = (args: string[]) =>
  runCli(args, { env: { ATOM_GOV_API_KEY: KEY, ATOM_GOV_CONFIG: stack.configPath, HOME: stack.dir } });

describe('enforcement: hard on units measured after the call', () => {
  it('bytes: the call that takes the period past the limit runs and is committed in full; the next is refused', async () => {
    const first = await client.callTool({ name: 'get-tiny-image', arguments: {} });
    expect(first.isError).not.toBe(true);
    const [record] = await gatewayRecords('get-tiny-image');
    expect(record).toMatchObject({ decision: 'governed', outcome: 'ok' });
    const firstOp = await stack.gc.result(record!.operationId!);
    const committed = firstOp.quotas[0]!;
    // One unit was reserved before the call; the measured response size replaced it afterwards, past the limit.
    expect(committed).toMatchObject({ resource: 'bytes', status: 'committed', reserved: 1, limit: BYTES_LIMIT });
    expect(committed.committed).toBe(firstOp.outcome?.responseBytes);
    expect(committed.committed).toBeGreaterThan(BYTES_LIMIT);

    const second = await client.callTool({ name: 'get-tiny-image', arguments: {} });
    expect(second.isError).toBe(true);
    expect(text(second)).toContain(`quota bytes of image_bytes_hard exceeded (${committed.committed}/${BYTES_LIMIT})`);
    const meta = (second._meta as Record<string, { status?: string; decisionReason?: string; operationId?: string }>)[
      OPERATION_META_KEY
    ];
    expect(meta).toMatchObject({ status: 'denied', decisionReason: 'quota_exceeded' });
    const secondOp = await stack.gc.result(meta!.operationId!);
    expect(secondOp.quotas[0]).toMatchObject({ status: 'refused', overLimit: true });
    // Audited: the gateway's record of the refused call, and the workflow's quota refusal.
    const records = await gatewayRecords('get-tiny-image');
    expect(records.map((r) => r.outcome)).toEqual(['ok', 'denied']);
    const workflowRecords = (await stack.audit.query({ tenant: stack.tenant, operationId: meta!.operationId! })).filter(
      (e) => uuidVersion(e.id) === 5,
    );
    expect(workflowRecords.map((e) => e.intent)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^quota_refused: quota bytes of image_bytes_hard exceeded/)]),
    );

    // The CI client hears the same refusal as a denial (exit 10).
    const ci = await cli(['call', '--server', 'everything', '--tool', 'get-tiny-image']);
    expect(ci.code).toBe(10);
    expect(ci.stdout).toBe('');
    expect(ci.stderr).toContain('quota bytes of image_bytes_hard exceeded');
  }, 90_000);

  it('compute seconds: one unit is reserved, so a call is refused once less than one second of the period is left', async () => {
    const first = await client.callTool({ name: 'echo', arguments: { message: 'quick' } });
    expect(text(first)).toBe('Echo: quick');
    const [record] = await gatewayRecords('echo');
    const used = (await stack.gc.result(record!.operationId!)).quotas[0]!;
    expect(used).toMatchObject({ resource: 'compute_seconds', status: 'committed' });
    expect(used.committed).toBeGreaterThan(0);
    expect(used.committed).toBeLessThan(1); // far under the limit of 1 s ...
    const second = await client.callTool({ name: 'echo', arguments: { message: 'again' } });
    // ... and yet refused: used + the one reserved second would exceed it.
    expect(second.isError).toBe(true);
    expect(text(second)).toMatch(/quota compute_seconds of echo_compute_hard exceeded \(0\.\d+\/1\)/);
  }, 60_000);
});
