// Governed operations on a local Temporal dev server (started here, in memory): the latency a quota-only governed
// call adds before the gateway may forward it, sustained governed operations per second, and the time from an
// approval (decide update) to the waiting gateway learning it may call ("click to call").
//   npm run bench -- governed        (or, after `npm run build` and the swc step of scripts/bench.sh:
//   node bench/dist/bench/governed.bench.js [--seconds 5] [--concurrency 32])
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { openAuditStore, openQuotaStore } from '@atom-gov/audit';
import { operationWorkflowId, SEARCH_ATTRIBUTES, type GovernedOperationInput } from '@atom-gov/contracts';
import { ensureTemporalCli, startDevServer } from '@atom-gov/devserver';
import { GovernanceClient } from '@atom-gov/governance-client';
import { createActivities, NotifierRegistry, workflowsSource } from '@atom-gov/worker';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 5);
const concurrency = arg('concurrency', 32);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (xs: number[]): string =>
  `p50 ${pct(xs, 50).toFixed(1)} ms  p90 ${pct(xs, 90).toFixed(1)} ms  p99 ${pct(xs, 99).toFixed(1)} ms  (n=${xs.length})`;

Runtime.install({ logger: new DefaultLogger('WARN') });
const dirArg = process.argv.indexOf('--dir');
const dir = mkdtempSync(
  join(dirArg > 0 ? (process.argv[dirArg + 1] ?? tmpdir()) : tmpdir(), 'atom-gov-bench-governed-'),
);
const temporalCli = await ensureTemporalCli({ env: process.env });
const server = await startDevServer({ temporalCli, headless: true, searchAttributes: SEARCH_ATTRIBUTES });
const taskQueue = 'bench-governed';
const audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
const quotas = await openQuotaStore({ sqlitePath: join(dir, 'audit.sqlite') });
const nc = await NativeConnection.connect({ address: server.address });
const source = workflowsSource();
const worker = await Worker.create({
  connection: nc,
  namespace: server.namespace,
  taskQueue,
  workflowsPath: source.workflowsPath,
  bundlerOptions: { webpackConfigHook: source.webpackConfigHook },
  activities: createActivities({
    identity: 'bench',
    taskQueue,
    startedAt: new Date(),
    governance: {
      audit,
      quotas,
      notifiers: new NotifierRegistry([{ name: 'null', schemes: ['mailto'], send: async () => ({ delivered: true }) }]),
    },
  }),
  maxConcurrentWorkflowTaskExecutions: 64,
  maxConcurrentActivityTaskExecutions: 128,
});
const running = worker.run();
const connection = await Connection.connect({ address: server.address });
const gc = new GovernanceClient({ client: new Client({ connection, namespace: server.namespace }), taskQueue });

let n = 0;
function quotaOnly(): GovernedOperationInput {
  n += 1;
  return {
    operationId: operationWorkflowId('acme', `bench-${n}`),
    tenant: 'acme',
    requester: 'ci@company.com',
    roles: ['ci'],
    server: 'perplexity_mcp',
    tool: 'research.query',
    argsHash: 'a'.repeat(64),
    redactedArgs: '{"q":"..."}',
    policy: 'monthly_quota',
    policyVersion: 'bench',
    quotas: [
      {
        rule: 'monthly_quota',
        resource: 'api_calls',
        per: 'tenant',
        scopeKey: 'acme',
        limit: 1e9,
        periodMs: 30 * 86_400_000,
        reserve: 1,
        enforcement: 'soft',
        alertThreshold: 0.8,
      },
    ],
    requestedAt: new Date().toISOString(),
    approvalMode: 'wait',
  };
}

async function governedCall(): Promise<{ decisionMs: number; totalMs: number }> {
  const t0 = performance.now();
  // What the gateway's runGovernedCall does: start/attach until pending or decided, then the outcome as a signal.
  const state = await gc.startOrAttach(quotaOnly(), { untilPending: true, maxWaitMs: 5000 });
  const decisionMs = performance.now() - t0;
  if (state.decision !== 'allow') throw new Error(`unexpected decision ${state.decision}: ${state.message}`);
  await gc.signalOutcome(state.operationId, { status: 'succeeded', usage: { api_calls: 1 } });
  return { decisionMs, totalMs: performance.now() - t0 };
}

try {
  for (let i = 0; i < 30; i += 1) await governedCall(); // warm-up: bundle loaded, caches hot

  const seq: Array<{ decisionMs: number; totalMs: number }> = [];
  for (let i = 0; i < 200; i += 1) seq.push(await governedCall());
  console.log('Quota-only governed call, sequential (start/attach -> allow; then the outcome signal):');
  console.log(`  added before forwarding (decision): ${fmt(seq.map((x) => x.decisionMs))}`);
  console.log(`  including the outcome report:       ${fmt(seq.map((x) => x.totalMs))}`);

  let done = 0;
  const lat: number[] = [];
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const r = await governedCall();
        lat.push(r.decisionMs);
        done += 1;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  console.log(`Sustained, ${concurrency} concurrent callers for ${seconds} s:`);
  console.log(`  ${(done / elapsed).toFixed(0)} governed operations/s (each: start, reserve, allow, outcome, commit)`);
  console.log(`  decision latency under load: ${fmt(lat)}`);

  const click: number[] = [];
  for (let i = 0; i < 40; i += 1) {
    const input: GovernedOperationInput = {
      ...quotaOnly(),
      approval: {
        rule: 'production_deployment',
        approvers: ['ops-lead@company.com'],
        minApprovals: 1,
        timeoutMs: 60_000,
        onTimeout: 'deny',
        notify: [],
      },
    };
    await gc.startOrAttach(input, { maxWaitMs: 0 });
    const waiting = gc.awaitDecision(input.operationId); // the gateway holding the caller's request
    await new Promise((r) => setTimeout(r, 20)); // let the wait reach the workflow, as it would in practice
    const c0 = performance.now();
    const [, decided] = await Promise.all([
      gc.decide(input.operationId, { approver: 'ops-lead@company.com', decision: 'approve', channel: 'slack' }),
      waiting.then((s) => ({ s, at: performance.now() })),
    ]);
    if (decided.s.decision !== 'allow') throw new Error('approval did not allow');
    click.push(decided.at - c0);
    await gc.signalOutcome(input.operationId, { status: 'succeeded' });
  }
  console.log('Click to call (decide update sent -> waiting gateway learns it may forward):');
  console.log(`  ${fmt(click)}`);
  const stats = audit.stats();
  console.log(`Audit store: ${JSON.stringify(stats)}`);
} finally {
  worker.shutdown();
  await running;
  await nc.close();
  await connection.close();
  await quotas.close();
  await audit.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
