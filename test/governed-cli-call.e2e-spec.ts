// `atom-gov call` and the seed's CI form (`atom-gov proxy --server S -- mcp-tool ...`), spawning the BUILT CLI
// (`npm run build` first) against the real gateway, the real worker on the suite's Temporal dev server and
// server-everything. Approvers decide through GovernanceClient while the CLI waits; exit codes are the contract.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditEvent } from '@atom-gov/audit';
import { type PendingOperation } from '@atom-gov/governance-client';
import { freePort } from '@atom-gov/mcp';
import { type CliRun as Run, runCli } from './support/atom-gov-cli.js';
import { type GovernedStack, startGovernedStack } from './support/governed-stack.js';
import { waitFor } from './support/wait-for.js';

const KEY = 'agk_ci_bot_0123456789ab';
/** Operator (records any listed approver's decision) and approver (decides as bob only) keys for approve/reject. */
const OPS_KEY = 'agk_ops_console_0123456789';
const BOB_KEY = 'agk_bob_approver_0123456789';

let stack: GovernedStack;

beforeAll(async () => {
  stack = await startGovernedStack({
    name: 'cli-call',
    keys: [
      { name: 'ci', key: KEY, user: 'ci-bot@company.com', roles: ['ci'] },
      { name: 'ops-console', key: OPS_KEY, user: 'console@company.com', roles: ['operator'] },
      { name: 'bob', key: BOB_KEY, user: 'bob@company.com', roles: ['approver'] },
    ],
    policies: {
      'policies.yaml': `policy:
  name: echo_needs_alice
  trigger: { mcp_server: everything, operation: echo }
  action:
    require_approval: { approvers: [alice@company.com], timeout: 2m, on_timeout: deny }
---
policy:
  name: env_quick
  trigger: { mcp_server: everything, operation: get-env }
  action:
    require_approval: { approvers: [alice@company.com], timeout: 2s, on_timeout: deny }
---
policy:
  name: message_needs_two
  trigger: { mcp_server: everything, operation: get-annotated-message }
  action:
    require_approval: { approvers: [alice@company.com, bob@company.com], min_approvals: 2, timeout: 2m, on_timeout: deny }
---
policy:
  name: sum_deferred
  trigger: { mcp_server: everything, operation: get-sum }
  action:
    require_approval: { approvers: [alice@company.com], timeout: 5m, approval_mode: defer }
`,
    },
    gateway: { governedProgressEveryMs: 500 },
  });
}, 120_000);

afterAll(async () => stack?.close());

/** Spawns the built CLI as the CI bot on the stack's config; `onStderr` sees stderr as it arrives (progress lines). */
const cli = (args: string[], onStderr?: (text: string) => void, env: Record<string, string> = {}): Promise<Run> =>
  runCli(args, {
    env: { ATOM_GOV_API_KEY: KEY, ATOM_GOV_CONFIG: stack.configPath, HOME: stack.dir, ...env },
    ...(onStderr ? { onStderr } : {}),
  });

/** The operation pending for these arguments (visibility is eventually consistent: poll). */
const pendingWith = (args: Record<string, unknown>) => stack.pendingWith(args);

const approve = (op: PendingOperation) =>
  stack.gc.decide(op.operationId, { approver: 'alice@company.com', decision: 'approve', channel: 'cli' });

describe('atom-gov call', () => {
  it('waits for approval with progress on stderr, prints the result and exits 0', async () => {
    let sawProgress!: () => void;
    const progress = new Promise<void>((resolve) => (sawProgress = resolve));
    const run = cli(['call', '--server', 'everything', '--tool', 'echo', '--args', '{"message":"ship it"}'], (err) => {
      if (/waiting for approval: 0 of 1, expires in \d+ min \(operation op-/.test(err)) sawProgress();
    });
    const op = await pendingWith({ message: 'ship it' });
    await progress;
    await approve(op);
    const r = await run;
    expect(r).toMatchObject({ code: 0, stdout: 'Echo: ship it\n' });
    expect(r.stderr).toContain(op.operationId);
  }, 60_000);

  it('exits 10 when denied, saying who and why', async () => {
    const run = cli(['call', '--server', 'everything', '--tool', 'echo', '--args', '{"message":"friday deploy"}']);
    const op = await pendingWith({ message: 'friday deploy' });
    await stack.gc.decide(op.operationId, {
      approver: 'alice@company.com',
      decision: 'reject',
      reason: 'not on a Friday',
      channel: 'cli',
    });
    const r = await run;
    expect(r.code).toBe(10);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Denied: rejected by alice@company.com: not on a Friday (operation ${op.operationId})`);
  }, 60_000);

  it('exits 11 when the approval times out, and when --timeout runs out (the operation is cancelled)', async () => {
    const timedOut = await cli(['call', '--server', 'everything', '--tool', 'get-env']);
    expect(timedOut.code).toBe(11);
    expect(timedOut.stderr).toMatch(/Denied: approval timed out: no decision within 2 s/);

    const gaveUp = await cli([
      'call',
      '--server',
      'everything',
      '--tool',
      'echo',
      '--args',
      '{"message":"impatient"}',
      '--timeout',
      '1s',
    ]);
    expect(gaveUp.code).toBe(11);
    expect(gaveUp.stderr).toMatch(/gave up after --timeout 1 s/);
    // The CLI's cancellation reached the gateway: the operation ended as cancelled (nothing left reserved or pending).
    // The CLI names the operation only when its first progress line came within that second (not so at load 15);
    // the gateway's own audit record of the request always does, once the gateway has cancelled it.
    const record = await waitFor(async () =>
      (await stack.gatewayRecords({ target: 'echo', outcome: 'cancelled' })).find((e) =>
        e.argsSummary?.includes('impatient'),
      ),
    );
    const operationId = record.operationId!;
    expect([undefined, operationId]).toContain(/operation (op-[0-9a-f]{20})/.exec(gaveUp.stderr)?.[1]);
    expect(await stack.gc.result(operationId)).toMatchObject({ status: 'cancelled', decisionReason: 'cancelled' });
    // Two CLI processes: each took 15-19 s from spawn to exit at load 13 (node start-up, connect, governed call).
  }, 120_000);

  it('exits 12 when the call fails, and 2 for bad --args', async () => {
    const failed = await cli(['call', '--server', 'everything', '--tool', 'no-such-tool']);
    expect(failed.code).toBe(12);
    expect(failed.stderr).toMatch(/no-such-tool/);
    const unknownServer = await cli(['call', '--server', 'nowhere', '--tool', 'echo']);
    expect(unknownServer.code).toBe(12);
    expect(unknownServer.stderr).toMatch(/no server 'nowhere'/);
    const bad = await cli(['call', '--server', 'everything', '--tool', 'echo', '--args', '{message: hi}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--args is not valid JSON/);
  }, 60_000);

  it('exits 12 with one clear message saying how to start a gateway when none is running', async () => {
    const idle = await freePort(); // nothing listens here
    const lonely = join(stack.dir, 'no-gateway.yaml');
    writeFileSync(lonely, `atom_gov:\n  version: 1.0.0\n  gateway: { host: 127.0.0.1, port: ${idle} }\n`);
    const fromConfig = await cli(['call', '--server', 'everything', '--tool', 'echo', '--config', lonely], undefined, {
      ATOM_GOV_CONFIG: lonely,
    });
    expect(fromConfig.code).toBe(12);
    expect(fromConfig.stdout).toBe('');
    expect(fromConfig.stderr).toBe(
      [
        `atom-gov: no ATOM-GOV gateway answers at http://127.0.0.1:${idle} (the address from gateway.host/port of ${lonely}).`,
        `  Start one and leave it running: \`atom-gov start --config ${lonely}\` (in a CI job: \`atom-gov start --config ${lonely} &\` before this step),`,
        '  or point --url / ATOM_GOV_URL at a running gateway,',
        `  or use \`atom-gov proxy --server everything --config ${lonely} -- mcp-tool echo\`, which starts one in the background.`,
        '',
      ].join('\n'),
    );
    const fromEnv = await cli(['call', '--server', 'everything', '--tool', 'echo'], undefined, {
      ATOM_GOV_URL: `http://127.0.0.1:${idle}`,
    });
    expect(fromEnv.code).toBe(12);
    expect(fromEnv.stderr).toContain(
      `no ATOM-GOV gateway answers at http://127.0.0.1:${idle} (the address from ATOM_GOV_URL)`,
    );
    // Nothing was started behind the user's back.
    expect(
      await fetch(`http://127.0.0.1:${idle}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  }, 60_000);

  it('approval_mode defer: repeats the call until approved, then prints the result', async () => {
    const run = cli([
      'call',
      '--server',
      'everything',
      '--tool',
      'get-sum',
      '--args',
      '{"a":20,"b":22}',
      '--poll',
      '200ms',
    ]);
    const op = await pendingWith({ a: 20, b: 22 });
    await approve(op);
    const r = await run;
    expect(r).toMatchObject({ code: 0, stdout: 'The sum of 20 and 22 is 42.\n' });
    expect(r.stderr).toMatch(/Repeat the same call once approved/);
  }, 60_000);
});

describe("the seed's GitHub Actions form: atom-gov proxy --server S -- mcp-tool <tool words> --name value", () => {
  it('resolves the tool from its words, types the options by its schema, waits and exits 0', async () => {
    const run = cli(['proxy', '--server', 'everything', '--', 'mcp-tool', 'get', 'sum', '--a', '7', '--b', '8']);
    const op = await pendingWith({ a: 7, b: 8 });
    await approve(op);
    const r = await run;
    expect(r).toMatchObject({ code: 0, stdout: 'The sum of 7 and 8 is 15.\n' });
  }, 60_000);

  it('names the tools when the words match none (exit 2)', async () => {
    const r = await cli([
      'proxy',
      '--server',
      'everything',
      '--',
      'mcp-tool',
      'workers',
      'deploy',
      '--env',
      'production',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /no tool named 'workers deploy' on everything \(tried workers\.deploy, workers_deploy, workers-deploy\); tools: .*echo/,
    );
  }, 60_000);
});

describe('atom-gov approve / reject refusals are audited', () => {
  /** approve|reject through the built CLI with an API key, on the data dir the gateway and worker share. */
  const decide = (verb: 'approve' | 'reject', key: string, operation: string, ...flags: string[]) =>
    cli([verb, '--operation', operation, '--data-dir', stack.dir, ...flags], undefined, { ATOM_GOV_API_KEY: key });

  it('writes one audit event per refused approve/reject (channel, reason, operation; never the key)', async () => {
    const since = new Date();
    const args = { messageType: 'success' };
    const call = cli([
      'call',
      '--server',
      'everything',
      '--tool',
      'get-annotated-message',
      '--args',
      JSON.stringify(args),
    ]);
    const op = await pendingWith(args);
    const id = op.operationId;

    const expectations: Array<[Promise<Run>, number, RegExp]> = [
      [
        decide('approve', 'agk_not_a_key_0000000000', id, '--approver', 'alice@company.com'),
        3,
        /not in gateway\.api_keys/,
      ],
      [decide('approve', BOB_KEY, id, '--approver', 'alice@company.com'), 3, /may decide only as bob@company\.com/],
      [decide('approve', OPS_KEY, id, '--approver', 'eve@company.com'), 4, /\[UnknownApprover\]/],
      [decide('approve', OPS_KEY, id, '--approver', 'ci-bot@company.com'), 4, /\[SelfApproval\]/],
    ];
    for (const [run, code, message] of expectations) {
      const r = await run;
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
    }
    expect((await decide('approve', OPS_KEY, id, '--approver', 'alice@company.com')).code).toBe(0);
    const dup = await decide('approve', OPS_KEY, id, '--approver', 'alice@company.com');
    expect(dup.code).toBe(4);
    expect(dup.stderr).toMatch(/\[DuplicateVote\]/);
    expect((await decide('approve', BOB_KEY, id)).code).toBe(0);
    expect((await call).code).toBe(0);
    const closed = await decide('reject', OPS_KEY, id, '--approver', 'alice@company.com', '--reason', 'too late');
    expect(closed.code).toBe(4);
    expect(closed.stderr).toMatch(/\[OperationClosed\]/);
    const missing = await decide('approve', OPS_KEY, 'op-00000000000000000000', '--approver', 'alice@company.com');
    expect(missing.code).toBe(5);

    const rows = (await stack.audit.query({ server: 'approvals', since }))
      .filter((e) => e.intent === 'cli approval refused')
      .reverse();
    // The store's PII redaction (on by default) adds its own note when a reason names an address.
    const edgeNotes = (r: AuditEvent) => (r.notes ?? []).filter((n) => !n.startsWith('pii redacted'));
    const reasonOf = (r: AuditEvent) => /\[(\w+)\]$/.exec(r.errorMessage ?? '')?.[1] ?? r.errorMessage;
    const ops = ['channel: cli', 'via: cli:key:ops-console'];
    // The first four ran concurrently: compare them as a set, the rest in order.
    const seen = rows.map((r) => [r.tenant, r.user, r.operationId, edgeNotes(r), reasonOf(r)]);
    expect(rows).toHaveLength(7);
    expect(seen.slice(0, 4)).toEqual(
      expect.arrayContaining([
        [
          'default',
          'unknown',
          id,
          ['channel: cli'],
          'approve refused: the API key is not in gateway.api_keys of the configuration',
        ],
        [
          stack.tenant,
          'bob@company.com',
          id,
          ['channel: cli', 'via: cli:key:bob'],
          'approve refused: this API key may decide only as [REDACTED:email], not [REDACTED:email]',
        ],
        [stack.tenant, 'eve@company.com', id, ops, 'UnknownApprover'],
        [stack.tenant, 'ci-bot@company.com', id, ops, 'SelfApproval'],
      ]),
    );
    expect(seen.slice(4)).toEqual([
      [stack.tenant, 'alice@company.com', id, ops, 'DuplicateVote'],
      [stack.tenant, 'alice@company.com', id, ops, 'OperationClosed'],
      [stack.tenant, 'alice@company.com', 'op-00000000000000000000', ops, 'NotFound'],
    ]);
    expect(rows.every((r) => r.decision === 'deny' && r.outcome === 'denied' && r.method === 'approvals/decide')).toBe(
      true,
    );
    expect(JSON.stringify(rows)).not.toMatch(/agk_/);
  }, 150_000);
});
