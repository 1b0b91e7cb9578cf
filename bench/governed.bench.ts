// Governed operations on a local Temporal dev server (started here, in memory): the latency a quota-only governed
// call adds before the gateway may forward it, sustained governed operations per second, and the time from an
// approval (decide update) to the waiting gateway learning it may call ("click to call"). Calls go through the
// gateway's own code (runGovernedCall with the shared quota store: quota-only calls reserve eagerly, without
// waiting for a worker); the previous path (the workflow reserves, the client waits for its first task) is
// measured beside it in the same run for the ratio.
//   npm run bench -- governed        (or, after `npm run build` and the swc step of scripts/bench.sh:
//   node bench/dist/bench/governed.bench.js [--seconds 5] [--concurrency 32])
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { openAuditStore, openQuotaStore } from '@atom-gov/audit';
import { operationWorkflowId, SEARCH_ATTRIBUTES, type GovernedOperationInput } from '@atom-gov/contracts';
import { ensureTemporalCli, startDevServer } from '@atom-gov/devserver';
import {
  GovernanceClient,
  runGovernedCall,
  TemporalConnection,
  type GovernedCallOptions,
} from '@atom-gov/governance-client';
import { createActivities, NotifierRegistry, workflowsSource } from '@atom-gov/worker';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 5);
const concurrency = arg('concurrency', 32);
// --outcome-timeout-ms N: shorter than the default 10 min, so the work the server does at the timeout (the eager
// path's start-delay timer firing for a run long closed) falls inside the measured window.
const outcomeTimeoutMs = arg('outcome-timeout-ms', 0);
// --phases sequential,sustained,click (default all): A/B runs of one phase against another checkout's build.
const phasesArg = process.argv.indexOf('--phases');
const phases = new Set(
  (phasesArg > 0 ? (process.argv[phasesArg + 1] ?? '') : 'sequential,sustained,click').split(',').map((p) => p.trim()),
);

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
  // As startWorker does: stateless modules (noble hashes) evaluated once per workflow thread.
  bundlerOptions: { webpackConfigHook: source.webpackConfigHook, preloadModules: source.preloadModules },
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
// The gateway's connection (TemporalConnection: native transport once connected), as the gateway uses it.
const connection = new TemporalConnection({ address: server.address });
const client = new Client({ connection, namespace: server.namespace });
const gc = new GovernanceClient({ client, taskQueue });

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
    ...(outcomeTimeoutMs > 0 ? { outcomeTimeoutMs } : {}),
  };
}

interface CallTiming {
  operationId: string;
  /** Wall-clock ms (comparable with the server's event times on this machine; 1 ms resolution). */
  startedAt: number;
  decidedAt: number;
  decisionMs: number;
  totalMs: number;
}

/** As the gateway's runner calls it: with the quota store (eager), or without (the workflow reserves). */
const eagerOpts: GovernedCallOptions = { quotaStore: quotas, usage: () => ({ api_calls: 1 }) };
const workerOpts: GovernedCallOptions = { usage: () => ({ api_calls: 1 }) };

async function governedCall(opts: GovernedCallOptions = eagerOpts): Promise<CallTiming> {
  const input = quotaOnly();
  // Date.now(), not timeOrigin + performance.now(): the monotonic clock drifts from the wall clock the server stamps.
  const startedAt = Date.now();
  const t0 = performance.now();
  let decisionMs = NaN;
  // The upstream call is instant: what is measured is what governance adds before it (decision) and in all.
  const out = await runGovernedCall(
    gc,
    input,
    async () => {
      decisionMs = performance.now() - t0;
      return { content: [] };
    },
    { ...opts, progressEveryMs: 5000 },
  );
  if (out.kind !== 'forwarded') throw new Error(`unexpected ${out.kind}: ${out.state.message}`);
  return {
    operationId: input.operationId,
    startedAt,
    decidedAt: startedAt + Math.round(decisionMs),
    decisionMs,
    totalMs: performance.now() - t0,
  };
}

/** Where a sequential call's time goes, from the server's history event times and the client's clock. */
async function hops(calls: CallTiming[]): Promise<string[]> {
  const at: Record<string, number[]> = {};
  const add = (k: string, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v)) (at[k] ??= []).push(v);
  };
  for (const c of calls) {
    await gc.result(c.operationId);
    const { events } = await client.workflow.getHandle(c.operationId).fetchHistory();
    const times = (attr: string): number[] =>
      (events ?? [])
        .filter((e) => (e as Record<string, unknown>)[attr] != null)
        .map((e) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6));
    const started = times('workflowExecutionStartedEventAttributes')[0];
    const tasksStarted = times('workflowTaskStartedEventAttributes');
    const tasksDone = times('workflowTaskCompletedEventAttributes');
    const signals = times('workflowExecutionSignaledEventAttributes');
    const [firstSignal] = signals;
    const outcomeSignal = signals[signals.length - 1];
    const afterOutcome = tasksStarted.findIndex((t) => t >= outcomeSignal!);
    const closed = times('workflowExecutionCompletedEventAttributes')[0];
    // On the decision path: the start RPC, then the reservation in the shared quota store (SQLite group commit).
    add('client -> workflow started (start RPC)', started! - c.startedAt);
    add('started -> client has the decision (quota store reserve)', c.decidedAt - started!);
    // Off the decision path (the call is already forwarded): the workflow hears of it and settles.
    add('decision -> first signal recorded', firstSignal! - c.decidedAt);
    add('outcome signal -> its workflow task started (matching)', (tasksStarted[afterOutcome] ?? NaN) - outcomeSignal!);
    add(
      'that workflow task in the worker (incl. local activities)',
      (tasksDone[afterOutcome] ?? NaN) - (tasksStarted[afterOutcome] ?? NaN),
    );
    add('outcome signal -> closed (commit + audit)', closed! - outcomeSignal!);
    add('signals per operation', signals.length);
    add('workflow tasks per operation', tasksDone.length);
    add('history events per operation', events?.length ?? 0);
  }
  return Object.entries(at).map(([k, v]) => `  ${k.padEnd(54)} p50 ${pct(v, 50).toFixed(1)}`);
}

/** CPU ms (user + system) of a process so far, from /proc (Linux); undefined elsewhere. */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  } catch {
    return undefined;
  }
}

/** CPU ms per thread name (main JS thread, workflow thread, Temporal core's tokio threads, libuv, V8 helpers). */
function threadCpuMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * 10;
      // The main thread is named after the executable; worker threads inherit it: tell them apart by id.
      const key = tid === String(pid) ? 'main JS thread' : name;
      byName.set(key, (byName.get(key) ?? 0) + ms);
    }
  } catch {
    // not Linux
  }
  return byName;
}

try {
  for (let i = 0; i < 30; i += 1) await governedCall(); // warm-up: bundle loaded, caches hot
  for (let i = 0; i < 10; i += 1) await governedCall(workerOpts);

  // Interleaved in rounds, so both paths see the same machine load.
  if (phases.has('sequential')) await sequential();
  if (phases.has('sustained')) await sustained();
  if (phases.has('click')) await clickToCall();
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

async function sequential(): Promise<void> {
  const seq: CallTiming[] = [];
  const previous: CallTiming[] = [];
  for (let round = 0; round < 10; round += 1) {
    for (let i = 0; i < 20; i += 1) seq.push(await governedCall());
    for (let i = 0; i < 5; i += 1) previous.push(await governedCall(workerOpts));
  }
  console.log(
    'Quota-only governed call, sequential (start, reserve in the quota store -> allow; report after the call):',
  );
  console.log(`  added before forwarding (decision): ${fmt(seq.map((x) => x.decisionMs))}`);
  console.log(`  including the outcome report:       ${fmt(seq.map((x) => x.totalMs))}`);
  console.log(
    `  previous path, same run (update-with-start, the workflow reserves): decision ${fmt(previous.map((x) => x.decisionMs))}`,
  );
  console.log('  where it goes (last 50 calls; server event times, ms):');
  for (const line of await hops(seq.slice(-50))) console.log(line);
}

async function sustained(): Promise<void> {
  let done = 0;
  const lat: number[] = [];
  const cpu0 = { self: cpuMs(process.pid), server: cpuMs(server.pid) };
  const threads0 = threadCpuMs(process.pid);
  // GOVERNED_BENCH_PROFILE=<file.cpuprofile>: a CPU profile of the main thread over the sustained phase only.
  const profileTo = process.env.GOVERNED_BENCH_PROFILE;
  const inspector = profileTo ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  }
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
  console.log(
    `  ${(done / elapsed).toFixed(0)} governed operations/s (each: start, reserve, allow, report, commit + audit)`,
  );
  console.log(`  decision latency under load: ${fmt(lat)}`);
  const cpu1 = { self: cpuMs(process.pid), server: cpuMs(server.pid) };
  if (inspector && profileTo) {
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(profileTo, JSON.stringify(profile));
    inspector.disconnect();
  }
  const threads1 = threadCpuMs(process.pid);
  const perThread = [...threads1]
    .map(([name, ms]) => [name, (ms - (threads0.get(name) ?? 0)) / Math.max(1, done)] as const)
    .filter(([, ms]) => ms >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${ms.toFixed(1)}`);
  if (perThread.length > 0) console.log(`  this process by thread, CPU ms per operation: ${perThread.join(', ')}`);
  if (cpu0.self !== undefined && cpu1.self !== undefined && cpu0.server !== undefined && cpu1.server !== undefined)
    console.log(
      `  CPU per operation: dev server ${((cpu1.server - cpu0.server) / done).toFixed(1)} ms, this process (client + worker + stores) ${((cpu1.self - cpu0.self) / done).toFixed(1)} ms`,
    );
}

async function clickToCall(): Promise<void> {
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
}
