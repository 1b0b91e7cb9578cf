// Decision time of the policy engine with a generated 500-rule config (target: p50 <= 20 µs).
// Node 20 cannot run TypeScript, so compile first:
//   npm run build && node_modules/.bin/swc bench/policy.bench.ts -d bench/dist --config-file .swcrc -q \
//     && node bench/dist/bench/policy.bench.js [--calls 200000]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@atom-gov/config';
import { compilePolicy, type DecisionContext } from '@atom-gov/policy';

const callsArg = process.argv.indexOf('--calls');
const CALLS = callsArg > 0 ? Number(process.argv[callsArg + 1]) : 200_000;
const SERVERS = 50;
const TOOLS = 30;
const RULES = 500;

// A deterministic pseudo-random sequence, so runs are comparable.
let seed = 42;
const rnd = (n: number) => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed % n;
};
const server = (i: number) => `srv${i}`;
const tool = (i: number) => `${['research', 'workers', 'files', 'db'][i % 4]}.op${i}`;

function ruleYaml(i: number): string {
  const s = server(rnd(SERVERS));
  switch (i % 10) {
    case 0:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, operation: 'research.*' }, action: { rate_limit: { limit: 100/hour, per: user, burst: 10 } }, audit: { alert_on_limit: true } }`;
    case 1:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, operation: ${tool(rnd(TOOLS))}, resource_pattern: '*-prod-*' }, action: { require_approval: { approvers: [a@x.io, b@x.io], min_approvals: 2, timeout: 1h } } }`;
    case 2:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, roles: [intern] }, action: { tools: { allow: ['files.*', 'research.*'] } } }`;
    case 3:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, operation: 'workers.*' }, action: { access_hours: { days: [mon, tue, wed, thu, fri], hours: '09:00-18:00', timezone: Europe/Berlin } } }`;
    case 4:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, tenants: [t${rnd(20)}] }, action: { tools: { deny: [${tool(rnd(TOOLS))}] } } }`;
    case 5:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, operation: ${tool(rnd(TOOLS))}, users: [u${rnd(100)}] }, action: { deny: { message: blocked } } }`;
    case 6:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s} }, action: { quota: { limit: 10000/month, per: tenant, enforcement: soft } } }`;
    case 7:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, operation: 'db.*', time: { dates: ['2026-12-20..2027-01-04'], timezone: Europe/Berlin } }, action: { deny: { message: freeze } } }`;
    case 8:
      return `policy: { name: r${i}, trigger: { mcp_server: ${s}, operation: all }, action: { pii_detection: { patterns: [ssn, email] } }, audit: { log_level: summary } }`;
    default:
      return `policy: { name: r${i}, enforcement: warn, trigger: { mcp_server: ${s}, operation: '${['research', 'files'][i % 2]}.*' }, action: { deny: { message: trial } } }`;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'atom-gov-policy-bench-'));
const servers = Array.from({ length: SERVERS }, (_, i) => `    - { name: ${server(i)}, command: node }`).join('\n');
writeFileSync(
  join(dir, 'mcp-governance.yaml'),
  `atom_gov:\n  servers:\n${servers}\n  policy_files: [rules.yaml]\n` +
    // One all-server rule, as real configs have (PII everywhere, a global rate limit): 500 rules in all.
    `mcp_policy:\n  all_servers:\n    pii_detection: true\n    rate_limit: 10000/hour\n`,
);
writeFileSync(join(dir, 'rules.yaml'), Array.from({ length: RULES - 1 }, (_, i) => `---\n${ruleYaml(i)}\n`).join(''));
const config = await loadConfig({ configPath: join(dir, 'mcp-governance.yaml'), dataDir: join(dir, 'data'), env: {} });

const t0 = process.hrtime.bigint();
const engine = compilePolicy(config);
const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;

const contexts: DecisionContext[] = Array.from({ length: 10_000 }, (_, i) => ({
  tenant: `t${rnd(20)}`,
  user: `u${rnd(100)}`,
  roles: i % 5 === 0 ? ['intern'] : [],
  server: server(rnd(SERVERS)),
  method: 'tools/call',
  name: tool(rnd(TOOLS)),
  args: { target: i % 3 === 0 ? 'eu-prod-1' : 'staging', options: { depth: 2, tags: ['a', 'b'] } },
  transport: 'http',
  local: true,
  time: new Date(Date.UTC(2026, 2, 23 + (i % 7), 6 + (i % 14), 0)),
}));

function measure(label: string, run: (ctx: DecisionContext) => unknown, n: number): void {
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ctx = contexts[i % contexts.length]!;
    const s = process.hrtime.bigint();
    run(ctx);
    samples[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  samples.sort();
  const q = (p: number) => samples[Math.min(n - 1, Math.floor(n * p))]!.toFixed(2);
  console.log(`${label.padEnd(34)} p50 ${q(0.5)} µs   p90 ${q(0.9)} µs   p99 ${q(0.99)} µs   (${n} calls)`);
}

const effects: Record<string, number> = {};
for (const ctx of contexts) {
  const e = engine.decide(ctx).effect;
  effects[e] = (effects[e] ?? 0) + 1;
}
console.log(`config: ${config.rules.length} rules, ${SERVERS} servers; compile ${compileMs.toFixed(1)} ms`);
console.log(`effects over ${contexts.length} contexts: ${JSON.stringify(effects)}`);
// Cold: a fresh engine, so each (server, tool) pair pays for building its candidate list once.
const cold = compilePolicy(config);
measure('decide (first calls, cold index)', (c) => cold.decide(c), 2_000);
measure('decide (warm)', (c) => engine.decide(c), CALLS);
measure('visible (tools/list filter)', (c) => engine.visible(c, 'tools', c.name!), CALLS / 4);
