// `atom-gov policy check | explain | test`: validate the config (with semantic warnings), explain one decision,
// run table-driven policy tests. Rendering only; the rules live in @atom-gov/config and @atom-gov/policy.
import {
  type AtomGovConfig,
  type ConfigIssue,
  checkConfig,
  ConfigError,
  displayPath,
  formatIssues,
  loadConfig,
  loadPolicyTestFile,
} from '@atom-gov/config';
import {
  checkPolicySemantics,
  compilePolicy,
  type Decision,
  type DecisionContext,
  denialMessage,
  type PolicyEngine,
  runPolicyTestCase,
} from '@atom-gov/policy';
import type { Command } from 'commander';
import { CliError } from '../run-cli.js';

export interface PolicyCheckOptions {
  config?: string;
  env?: Record<string, string | undefined>;
}

export interface CommandOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processOutput: CommandOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const relativeIssue = (i: ConfigIssue): ConfigIssue => ({ ...i, file: displayPath(i.file) });

/** Prints OK (and any warnings, semantic ones included) or every issue; returns the exit code (0 valid, 1 invalid). */
export async function policyCheck(opts: PolicyCheckOptions, out: CommandOutput = processOutput): Promise<number> {
  const result = await checkConfig({
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  if (result.ok) {
    out.stdout(`${result.summary}\n`);
    const warnings = [...result.warnings, ...checkPolicySemantics(result.config).map(relativeIssue)];
    if (warnings.length > 0) out.stderr(`${formatIssues(warnings)}\n`);
    return 0;
  }
  out.stderr(`${formatIssues(result.issues)}\n`);
  return 1;
}

async function load(configPath: string | undefined, env?: Record<string, string | undefined>): Promise<AtomGovConfig> {
  try {
    return await loadConfig({ ...(configPath !== undefined ? { configPath } : {}), ...(env ? { env } : {}) });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`the configuration is not valid:\n${formatIssues(error.issues.map(relativeIssue))}`, 1);
    throw error;
  }
}

export interface PolicyExplainOptions {
  config?: string;
  server: string;
  tool?: string;
  method?: string;
  user?: string;
  tenant?: string;
  role?: string[];
  args?: string;
  at?: string;
  remote?: boolean;
  env?: Record<string, string | undefined>;
}

const minutes = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 60_000)} min`);

function renderDecision(d: Decision): string[] {
  const lines = [`Decision: ${d.effect}${d.policy ? ` (policy ${d.policy})` : ''}`];
  if (d.effect === 'deny') lines.push(`  message: ${denialMessage(d)}`);
  if (d.hidden) lines.push('  hidden: the tool is not listed for this caller');
  const a = d.governed?.approval;
  if (a)
    lines.push(
      `  approval: ${a.minApprovals} of ${a.approvers.length ? a.approvers.join(', ') : 'the approver role'} within ${minutes(a.timeoutMs)}, on timeout ${a.onTimeout} (${a.rule})`,
    );
  for (const q of d.governed?.quotas ?? [])
    lines.push(
      `  quota: ${q.resource} ${q.amount.limit}${q.amount.period ? `/${q.amount.period}` : ''} per ${q.per}, ${q.enforcement}${q.alertThreshold !== undefined ? `, alert at ${Math.round(q.alertThreshold * 100)}%` : ''} (${q.rule})`,
    );
  for (const r of d.obligations.rateLimits) {
    const s = r.spec;
    const per = typeof s.per === 'string' ? (s.per === 'global' ? '' : s.per) : s.per.join('+');
    lines.push(
      `  rate limit: ${s.limit} per ${minutes(s.periodMs)} per ${per || 'everyone'}${s.burst ? `, burst ${s.burst}` : ''}, ${s.window}, ${s.enforcement} (${r.rule})`,
    );
  }
  if (d.obligations.pii)
    lines.push(
      `  pii: ${d.obligations.pii.scanner.action} ${d.obligations.pii.scanner.kinds.join(', ')} (${d.obligations.pii.rules.join(', ')})`,
    );
  lines.push(`  audit level: ${d.obligations.auditLevel}`);
  if (d.obligations.tenantIsolation) lines.push(`  tenant isolation: ${d.obligations.tenantIsolation}`);
  if (d.obligations.alerts.targets.length > 0)
    lines.push(`  alerts: ${d.obligations.alerts.targets.map((t) => t.uri).join(', ')}`);
  for (const w of d.wouldDeny) lines.push(`  would deny (${w.enforcement}, not enforced): ${w.rule}: ${w.reason}`);
  lines.push(`  config version: ${d.configVersion.slice(0, 12)}`);
  return lines;
}

export function explainContext(config: AtomGovConfig, opts: PolicyExplainOptions): DecisionContext {
  let args: unknown;
  if (opts.args !== undefined) {
    try {
      args = JSON.parse(opts.args);
    } catch {
      throw new CliError(`--args is not valid JSON: ${opts.args} (example: --args '{"name":"my-prod-worker"}')`, 2);
    }
  }
  const time = opts.at !== undefined ? new Date(opts.at) : new Date();
  if (Number.isNaN(time.getTime()))
    throw new CliError(`--at '${opts.at}' is not a time: use ISO 8601, e.g. 2026-03-30T09:30:00+02:00`, 2);
  if (!config.servers.some((s) => s.name === opts.server))
    throw new CliError(
      `unknown server '${opts.server}': configured servers are ${config.servers.map((s) => s.name).join(', ') || '(none)'}`,
      2,
    );
  const anon = config.gateway.anonymous;
  return {
    tenant: opts.tenant ?? anon.tenant,
    user: opts.user ?? anon.user,
    roles: opts.role && opts.role.length > 0 ? opts.role : anon.roles,
    server: opts.server,
    method: opts.method ?? 'tools/call',
    ...(opts.tool !== undefined ? { name: opts.tool } : {}),
    ...(args !== undefined ? { args } : {}),
    transport: opts.remote ? 'http' : 'stdio',
    local: !opts.remote,
    time,
  };
}

/** Prints the decision, the matched rules with why, and the others with why not. Exit code 0. */
export async function policyExplain(opts: PolicyExplainOptions, out: CommandOutput = processOutput): Promise<number> {
  const config = await load(opts.config, opts.env);
  const ctx = explainContext(config, opts);
  const { decision, rules } = compilePolicy(config).explain(ctx);
  const lines = [
    `Call: ${ctx.method} ${ctx.server}${ctx.name ? `/${ctx.name}` : ''} as ${ctx.tenant}/${ctx.user}${ctx.roles.length ? ` [${ctx.roles.join(', ')}]` : ''} at ${ctx.time.toISOString()}${ctx.local ? '' : ' (remote)'}`,
    ...renderDecision(decision),
    'Matched rules:',
    ...(rules.some((r) => r.matched)
      ? rules.filter((r) => r.matched).map((r) => `  + ${r.rule} (${displayPath(r.source)})  ${r.why}`)
      : ['  (none)']),
    'Not matched:',
    ...(rules.some((r) => !r.matched)
      ? rules.filter((r) => !r.matched).map((r) => `  - ${r.rule}: ${r.why}`)
      : ['  (none)']),
  ];
  out.stdout(`${lines.join('\n')}\n`);
  return 0;
}

export interface PolicyTestOptions {
  config?: string;
  env?: Record<string, string | undefined>;
  /** Time for cases without `at:` (default now). */
  now?: Date;
}

/** Runs every case of every file; prints PASS/FAIL per case; returns 1 when any case fails. */
export async function policyTest(
  files: string[],
  opts: PolicyTestOptions = {},
  out: CommandOutput = processOutput,
): Promise<number> {
  const engines = new Map<string, PolicyEngine>();
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    let tests;
    try {
      tests = await loadPolicyTestFile(file);
    } catch (error) {
      if (error instanceof ConfigError)
        throw new CliError(
          `${file} is not a valid policy test file:\n${formatIssues(error.issues.map(relativeIssue))}`,
          1,
        );
      throw error;
    }
    const configPath = tests.configPath ?? opts.config;
    const key = configPath ?? '';
    let engine = engines.get(key);
    if (!engine) {
      engine = compilePolicy(await load(configPath, opts.env));
      engines.set(key, engine);
    }
    out.stdout(`${displayPath(tests.file)}\n`);
    for (const c of tests.cases) {
      const r = runPolicyTestCase(engine, c, opts.now);
      if (r.passed) {
        passed++;
        out.stdout(`  PASS ${c.name}\n`);
      } else {
        failed++;
        out.stdout(`  FAIL ${c.name} (${displayPath(tests.file)}:${c.line})\n`);
        for (const f of r.failures) out.stdout(`       ${f}\n`);
      }
    }
  }
  out.stdout(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

const configOption = [
  '--config <file>',
  'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
] as const;

export function register(program: Command): void {
  const policy = program.command('policy').description('Work with governance policies');
  policy
    .command('check')
    .description('Validate the configuration and every policy file it includes (with semantic warnings)')
    .option(...configOption)
    .action(async (opts: { config?: string }) => {
      const code = await policyCheck(opts);
      if (code !== 0) throw new CliError('the configuration is not valid (see the errors above)', code);
    });
  policy
    .command('explain')
    .description('Show the decision for one call, the rules that matched and why, and why the others did not')
    .requiredOption('--server <name>', 'server name')
    .option('--tool <name>', 'tool, prompt or resource URI')
    .option('--method <method>', 'MCP method', 'tools/call')
    .option('--user <user>', 'caller user (default: the anonymous identity)')
    .option('--tenant <tenant>', 'caller tenant (default: the anonymous identity)')
    .option('--role <role>', 'caller role (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--args <json>', 'tool arguments as JSON')
    .option('--at <time>', 'ISO time of the call (default now)')
    .option('--remote', 'the caller is not on this host')
    .option(...configOption)
    .action(async (opts: PolicyExplainOptions) => {
      await policyExplain(opts);
    });
  policy
    .command('test')
    .description('Run table-driven policy tests (YAML); exit 1 when any case fails')
    .argument('<files...>', 'policy test files')
    .option(...configOption)
    .action(async (files: string[], opts: { config?: string }) => {
      const code = await policyTest(files, opts);
      if (code !== 0) throw new CliError('policy tests failed', code);
    });
}
