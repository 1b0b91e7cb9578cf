// Hot reload under load: while clients call continuously, the policy file is rewritten 50 times (valid variants
// and some invalid ones). No call fails, the decision follows the latest valid file, /healthz names the invalid one.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CALLERS, server, startGoverned, text, type GovernedGateway } from './support/governance-gateway.js';

let gw: GovernedGateway;

const variant = (i: number) => `policy:
  name: sum_gen_${i}
  trigger:
    mcp_server: everything
    operation: get-sum
  action:
    deny:
      message: generation ${i}
`;

/** Replace the file in one step (as editors and config management do), so a reader never sees half a file. */
function writePolicy(text: string): void {
  const file = join(gw.dir, 'reload.yaml');
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

interface PolicyHealth {
  version: string;
  reloads: number;
  failedReloads: number;
  lastError?: { message: string };
}

/** The gateway's failed-reload counter, read from its Prometheus endpoint. */
async function failedReloads(): Promise<number> {
  const body = await (await fetch(`${gw.url}/metrics`)).text();
  const m = /^atom_gov_policy_reloads_total\{result="failed"\} (\d+)$/m.exec(body);
  if (!m) throw new Error(`no failed-reload counter in /metrics:\n${body.slice(0, 500)}`);
  return Number(m[1]);
}

async function policyHealth(): Promise<PolicyHealth> {
  const res = await fetch(`${gw.url}/healthz`);
  // 503 here (no Temporal in this test); the policy section is in the body either way.
  return ((await res.json()) as { policy: PolicyHealth }).policy;
}

/** Bounded polling: an event that never comes fails the test with what was awaited, instead of hanging. */
function deadline(what: string, ms = 15_000): () => void {
  const end = Date.now() + ms;
  return () => {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
  };
}

beforeAll(async () => {
  gw = await startGoverned(`  servers:\n${server('everything', 'everything')}  policy_files: [reload.yaml]\n`, {
    'reload.yaml': variant(0),
  });
});

afterAll(async () => {
  await gw?.close();
});

describe('hot reload under load', () => {
  it('rewrites the policy 50 times without a failed call; decisions follow the latest valid file', async () => {
    const loaders = await Promise.all([gw.connect(CALLERS.alice, 'everything'), gw.connect(CALLERS.bob, 'everything')]);
    const probe = await gw.connect(CALLERS.alice, 'everything');
    let running = true;
    let calls = 0;
    const failures: string[] = [];
    const loops = loaders.map(async (c, n) => {
      while (running) {
        try {
          const r = await c.callTool({ name: 'echo', arguments: { message: `load ${n}` } });
          if (r.isError || text(r) !== `Echo: load ${n}`) failures.push(text(r));
        } catch (error) {
          failures.push((error as Error).message);
          // A client that fails at once must not spin on microtasks and starve the event loop.
          if (failures.length > 20) running = false;
        }
        calls++;
      }
    });
    // "Denied by policy sum_gen_3: generation 3; <remedy>": the generation that decided.
    const sumDenial = async () =>
      /^Denied by policy (sum_gen_\d+: generation \d+)/.exec(
        text(await probe.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })),
      )?.[1];
    let lastValid = 0;
    let invalid = 0;
    try {
      expect(await sumDenial()).toBe('sum_gen_0: generation 0');

      for (let i = 1; i <= 50; i++) {
        if (i % 5 === 0) {
          // Invalid: a YAML syntax error or an unknown action; the running policy must stay.
          // The reload counters (metrics) say when the rejected reload happened; /healthz is checked below.
          const before = await failedReloads();
          writePolicy(
            i % 10 === 0 ? 'policy: [unclosed\n' : `policy:\n  name: bad_${i}\n  action:\n    frobnicate: true\n`,
          );
          invalid++;
          const check = deadline(`the rejected reload of write ${i}`);
          while ((await failedReloads()) === before) {
            check();
            await new Promise((r) => setTimeout(r, 20));
          }
          if (i === 25) expect((await policyHealth()).lastError?.message).toContain('reload.yaml');
          expect(await sumDenial()).toBe(`sum_gen_${lastValid}: generation ${lastValid}`);
        } else {
          writePolicy(variant(i));
          lastValid = i;
          const want = `sum_gen_${i}: generation ${i}`;
          const check = deadline(`generation ${i} to decide`);
          let got = await sumDenial();
          while (got !== want) {
            check();
            // Only this or the previous generation may answer while the swap is pending.
            expect(got).toMatch(/^sum_gen_\d+: generation \d+$/);
            got = await sumDenial();
          }
        }
      }
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(50);
    const h = await policyHealth();
    expect(h.reloads).toBeGreaterThanOrEqual(40);
    expect(h.failedReloads).toBeGreaterThanOrEqual(invalid);
    // The last write was invalid (i = 50): /healthz still reports it, the valid generation 49 runs.
    expect(h.lastError?.message).toMatch(/reload\.yaml/);
    const events = await gw.audit.query({ user: 'alice', method: 'tools/call' } as never);
    expect(new Set(events.map((e) => e.configVersion)).size).toBeGreaterThan(10);
    process.stderr.write(
      `hot reload under load: ${calls} calls, 0 failed, ${h.reloads} reloads, ${h.failedReloads} rejected\n`,
    );
  }, 240_000);
});
