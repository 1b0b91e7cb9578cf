import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig, resolveRuntime } from './index.js';
import type { AtomGovConfig, PolicyRule } from './types.js';
import { REPO_ROOT, writeTree } from './test-files.js';

const HOUR = 3_600_000;
const MONTH = 30 * 24 * HOUR;

function rule(config: AtomGovConfig, name: string): PolicyRule {
  const found = config.rules.find((r) => r.name === name);
  if (!found) throw new Error(`no rule ${name}; have ${config.rules.map((r) => r.name).join(', ')}`);
  return found;
}
function action<T extends PolicyRule['actions'][number]['type']>(r: PolicyRule, type: T) {
  const found = r.actions.find((a) => a.type === type);
  if (!found) throw new Error(`rule ${r.name} has no ${type} action`);
  return found as Extract<PolicyRule['actions'][number], { type: T }>;
}

const env = (home: string, extra: Record<string, string> = {}) => ({ HOME: home, PATH: process.env.PATH, ...extra });

describe('the seed configuration block', () => {
  const home = writeTree({});
  const load = (file: string) =>
    loadConfig({ configPath: join(REPO_ROOT, 'examples/seed', file), dataDir: join(home, 'data'), env: env(home) });

  it('loads verbatim, with the server policies normalised', async () => {
    const config = await load('configuration.yaml');
    expect(config.declaredVersion).toBe('1.0.0');
    expect(config.version).toMatch(/^[0-9a-f]{64}$/);
    expect(config.global).toEqual({ mode: 'proxy', audit: true, encryption: true, enforcement: 'hard' });
    expect(config.servers.map((s) => s.name)).toEqual(['cloudflare_mcp', 'perplexity_mcp', 'ollama_mcp']);

    const cloudflare = config.servers[0]!;
    // `path: ~/.config/mcp/servers/cloudflare`: `~` expanded against HOME; not there, so run as an executable.
    expect(cloudflare.command).toBe(join(home, '.config/mcp/servers/cloudflare'));
    expect(cloudflare.transport).toBe('stdio');
    expect(cloudflare.auditLevel).toBe('full');
    expect(cloudflare.policies).toEqual([
      { kind: 'rate_limit', rate: { limit: 1000, period: 'hour', periodMs: HOUR } },
      { kind: 'require_approval', operationGroup: 'production_writes' },
      { kind: 'audit_level', level: 'full' },
    ]);
    expect(config.servers[2]!.localOnly).toBe(true);
    expect(config.servers[2]!.auditLevel).toBe('summary');
    expect(config.warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('does not exist yet'),
      expect.stringContaining('does not exist yet'),
      expect.stringContaining('does not exist yet'),
    ]);

    expect(config.policies).toEqual({
      rateLimit: { type: 'counter', window: 'sliding', enforcement: 'hard' },
      requireApproval: { type: 'workflow', minApprovals: 2, timeoutMs: HOUR, fallback: 'deny', approvalMode: 'wait' },
      resourceLimit: { type: 'resource_quota', enforcement: 'hard', alertThreshold: 0.8 },
      piiDetection: { patterns: ['ssn', 'credit_card', 'email', 'phone'], redact: true },
    });
    expect(config.audit).toEqual({
      backend: 'atom_trail',
      trailFile: join(home, '.config/atom-sage/trails/mcp_audit.log'),
      encrypt: true,
      piiRedaction: true,
      retentionDays: 2555,
      signingKey: join(home, 'data', 'audit-signing-key.pem'),
      timeZone: 'UTC',
    });
    expect(config.tenants).toEqual({
      enabled: false,
      isolation: 'strict',
      quotas: {
        default: { api_calls: { limit: 10000, period: 'month', periodMs: MONTH }, storage_gb: { limit: 100 } },
      },
    });

    const perplexityRate = action(rule(config, 'perplexity_mcp.rate_limit'), 'rate_limit');
    expect(perplexityRate.rate).toEqual({ limit: 100, period: 'hour', periodMs: HOUR });
    expect(perplexityRate.window).toBe('sliding');
    const quota = action(rule(config, 'perplexity_mcp.resource_limit'), 'quota');
    // `resource_limit: high` through the level table; threshold from the definitions block.
    expect(quota.amount).toEqual({ limit: 100_000, period: 'month', periodMs: MONTH, level: 'high' });
    expect(quota.alertThreshold).toBe(0.8);
    const approval = rule(config, 'cloudflare_mcp.require_approval.production_writes');
    expect(approval.trigger.operationGroup).toBe('production_writes');
    expect(action(approval, 'require_approval')).toMatchObject({ minApprovals: 2, timeoutMs: HOUR, onTimeout: 'deny' });
  });

  it('fills runtime defaults', async () => {
    const config = await load('configuration.yaml');
    expect(config.gateway).toMatchObject({
      host: '127.0.0.1',
      port: 8700,
      publicUrl: 'http://127.0.0.1:8700',
      allowUnauthenticated: true,
    });
    expect(config.gateway.anonymous).toEqual({ tenant: 'default', user: 'anonymous', roles: [] });
    expect(config.temporal).toEqual({
      namespace: 'default',
      taskQueue: 'atom-gov',
      devServer: { port: 7233, uiPort: 8233, headless: false },
    });
    expect(config.database).toEqual({ sqlitePath: join(home, 'data', 'audit.sqlite') });
    expect(config.dataDir).toBe(join(home, 'data'));
    expect(Object.isFrozen(config.servers[0]!.args)).toBe(true);
  });

  it('loads every policy example of the seed through policy_files', async () => {
    const config = await load('mcp-governance.yaml');
    expect(config.files.map((f) => f.slice(f.indexOf('examples/')))).toEqual([
      'examples/seed/mcp-governance.yaml',
      'examples/seed/policies/01-enterprise-deployment.yaml',
      'examples/seed/policies/02-resource-management.yaml',
      'examples/seed/policies/03-compliance-requirements.yaml',
      'examples/seed/policies/04-multi-tenant-saas.yaml',
      'examples/seed/policies/05-approval-workflow.yaml',
      'examples/seed/policies/06-rate-limiting.yaml',
      'examples/seed/policies/07-resource-quota.yaml',
      'examples/seed/policies/08-pii-protection.yaml',
    ]);

    // 1. Enterprise deployment: server-keyed operation group with approvers.
    const writes = rule(config, 'cloudflare_mcp.production_writes');
    expect(writes.kind).toBe('mcp_policy');
    expect(writes.trigger).toMatchObject({
      servers: ['cloudflare_mcp'],
      operationGroup: 'production_writes',
      operations: '*',
    });
    expect(action(writes, 'require_approval')).toEqual({
      type: 'require_approval',
      approvers: ['ops-team@company.com'],
      minApprovals: 1,
      timeoutMs: HOUR,
      onTimeout: 'deny',
      approvalMode: 'wait',
    });
    expect(writes.audit.logLevel).toBe('full');
    expect(writes.source).toMatchObject({ line: 4, column: 5, path: 'mcp_policy.cloudflare_mcp.production_writes' });

    // 2. Resource management: 100/hour with a named alert threshold.
    const research = rule(config, 'perplexity_mcp.research_queries');
    expect(action(research, 'rate_limit')).toEqual({
      type: 'rate_limit',
      rate: { limit: 100, period: 'hour', periodMs: HOUR },
      per: 'user',
      burst: 0,
      onExceeded: 'block',
      window: 'sliding',
      alertThreshold: 0.9,
    });
    expect(research.audit.resourceTracking).toBe(true);

    // 3. SOC 2: audit obligations on every server.
    const soc2 = rule(config, 'all_servers');
    expect(soc2.trigger.servers).toBe('*');
    expect(soc2.actions).toEqual([]);
    expect(soc2.audit).toMatchObject({
      logLevel: 'full',
      logAllOperations: true,
      retentionDays: 2555,
      encryptLogs: true,
      piiDetection: true,
    });

    // 4. Multi-tenant SaaS: isolation and per-tenant quotas.
    const tenants = rule(config, 'tenants');
    expect(tenants.actions).toEqual([
      { type: 'tenant_isolation', isolation: 'strict' },
      {
        type: 'quota',
        resource: 'api_calls',
        amount: { limit: 10000, period: 'month', periodMs: MONTH },
        per: 'tenant',
        enforcement: 'hard',
        alertThreshold: 0.8,
      },
      {
        type: 'quota',
        resource: 'storage_gb',
        amount: { limit: 100 },
        per: 'tenant',
        enforcement: 'hard',
        alertThreshold: 0.8,
      },
      {
        type: 'quota',
        resource: 'compute_hours',
        amount: { limit: 50 },
        per: 'tenant',
        enforcement: 'hard',
        alertThreshold: 0.8,
      },
    ]);

    // Approval workflow.
    const deploy = rule(config, 'production_deployment');
    expect(deploy.kind).toBe('policy');
    expect(deploy.trigger).toMatchObject({
      servers: ['cloudflare_mcp'],
      operations: ['workers.deploy'],
      resourcePatterns: ['*-prod-*'],
    });
    expect(action(deploy, 'require_approval')).toEqual({
      type: 'require_approval',
      approvers: ['ops-lead@company.com', 'cto@company.com'],
      minApprovals: 2,
      timeoutMs: HOUR,
      onTimeout: 'deny',
      approvalMode: 'wait',
    });
    expect(deploy.audit.logLevel).toBe('full');
    expect(deploy.audit.notifications).toEqual([{ kind: 'slack', channel: 'ops-channel', uri: 'slack://ops-channel' }]);
    expect(deploy.source.file).toMatch(/05-approval-workflow\.yaml$/);
    expect(deploy.source.line).toBe(2);

    // Rate limiting.
    const limit = rule(config, 'research_rate_limit');
    expect(limit.trigger.operations).toEqual(['research.*']);
    expect(action(limit, 'rate_limit')).toMatchObject({
      rate: { limit: 100, period: 'hour', periodMs: HOUR },
      per: 'user',
      burst: 10,
      onExceeded: 'block',
    });
    expect(limit.audit).toMatchObject({ logLevel: 'summary', alertOnLimit: true });

    // Resource management: named level, soft enforcement.
    const monthly = rule(config, 'monthly_quota');
    expect(action(monthly, 'quota')).toEqual({
      type: 'quota',
      resource: 'api_calls',
      amount: { limit: 100_000, period: 'month', periodMs: MONTH, level: 'high_usage' },
      per: 'tenant',
      enforcement: 'soft',
      alertThreshold: 0.8,
    });
    expect(monthly.enforcement).toBe('soft');
    expect(monthly.audit).toMatchObject({ resourceTracking: true, reporting: 'monthly' });

    // PII protection on everything.
    const pii = rule(config, 'pii_redaction');
    expect(pii.trigger).toMatchObject({ servers: '*', operations: '*' });
    expect(action(pii, 'pii_detection')).toEqual({
      type: 'pii_detection',
      enabled: true,
      redact: true,
      patterns: ['ssn', 'credit_card', 'email', 'phone'],
    });
    expect(pii.audit).toMatchObject({ logRedacted: true, alertOnPii: true });

    expect(config.rules).toHaveLength(12);
  });

  it('gives a stable version that changes with the meaning of the files', async () => {
    const a = await load('mcp-governance.yaml');
    const b = await load('mcp-governance.yaml');
    const c = await load('configuration.yaml');
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(c.version);
  });
});

describe('the example config', () => {
  it('governs the installed npm servers without downloading anything', async () => {
    const home = writeTree({});
    const dataDir = join(home, 'data');
    const config = await loadConfig({
      configPath: join(REPO_ROOT, 'examples/mcp-governance.yaml'),
      dataDir,
      env: env(home),
    });
    expect(config.warnings).toEqual([]);
    const byName = Object.fromEntries(config.servers.map((s) => [s.name, s]));
    expect(Object.keys(byName)).toEqual(['everything', 'filesystem', 'memory', 'everything_http']);

    const everything = byName.everything!;
    expect(everything.command).toBe(process.execPath);
    expect(everything.args).toEqual([
      join(REPO_ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'),
      'stdio',
    ]);
    expect(existsSync(everything.args[0]!)).toBe(true);

    const fs = byName.filesystem!;
    expect(fs.args[1]).toBe(join(dataDir, 'sandbox'));
    expect(fs.createDirs).toEqual([join(dataDir, 'sandbox')]);
    expect(byName.memory!.env).toEqual({ MEMORY_FILE_PATH: join(dataDir, 'memory.jsonl') });

    const http = byName.everything_http!;
    expect(http).toMatchObject({ transport: 'streamable_http', url: 'http://127.0.0.1:{port}/mcp' });
    expect(http.launch).toEqual({
      command: process.execPath,
      args: [join(REPO_ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'streamableHttp'],
      env: { PORT: '{port}' },
      cwd: join(REPO_ROOT, 'examples'),
      port: 'auto',
    });

    const types = new Set(config.rules.flatMap((r) => r.actions.map((a) => a.type)));
    expect([...types].sort()).toEqual(['pii_detection', 'quota', 'rate_limit', 'require_approval']);
    expect(rule(config, 'filesystem.filesystem_writes').trigger.operations).toEqual([
      'write_file',
      'edit_file',
      'create_directory',
      'move_file',
    ]);
  });
});

describe('interpolation and paths', () => {
  const main = (body: string) => `atom_gov:\n${body}`;

  it('expands ${VAR}, ${VAR:-default}, $${ and ~', async () => {
    const dir = writeTree({
      'c.yaml': main(
        [
          '  servers:',
          '    - name: tool',
          '      command: ~/bin/tool',
          '      args: ["--token=${TOKEN}", "--region=${REGION:-eu}", "$${literal}", "~/x"]',
          '      cwd: ./work',
          '      env: { LEVEL: 3 }',
          '  database:',
          '    url: ${DATABASE_URL}',
          '  temporal:',
          '    address: ${TEMPORAL_HOSTPORT:-}',
        ].join('\n') + '\n',
      ),
    });
    const config = await loadConfig({
      configPath: join(dir, 'c.yaml'),
      env: env(dir, { TOKEN: 's3cret', DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db' }),
    });
    const server = config.servers[0]!;
    expect(server.command).toBe(join(dir, 'bin/tool'));
    expect(server.args).toEqual(['--token=s3cret', '--region=eu', '${literal}', join(dir, 'x')]);
    expect(server.cwd).toBe(join(dir, 'work'));
    expect(server.env).toEqual({ LEVEL: '3' });
    expect(config.database.url).toBe('postgres://u:p@127.0.0.1:5432/db');
    // An empty default counts as "not configured": the embedded dev server is used.
    expect(config.temporal.address).toBeUndefined();
  });

  it('takes the Temporal address from TEMPORAL_ADDRESS when the config has none', async () => {
    const dir = writeTree({ 'c.yaml': 'atom_gov: {}\n' });
    const config = await loadConfig({
      configPath: join(dir, 'c.yaml'),
      env: env(dir, { TEMPORAL_ADDRESS: '127.0.0.1:7999' }),
    });
    expect(config.temporal.address).toBe('127.0.0.1:7999');
  });

  it('resolves a path: directory holding a Node package to node <its bin>', async () => {
    const dir = writeTree({
      'servers/echo/package.json': JSON.stringify({ name: 'echo-mcp', bin: { 'echo-mcp': 'dist/main.js' } }),
      'servers/echo/dist/main.js': '',
      'c.yaml': main('  servers:\n    - name: echo\n      path: servers/echo\n      args: [--quiet]\n'),
    });
    const config = await loadConfig({ configPath: join(dir, 'c.yaml'), env: env(dir) });
    expect(config.servers[0]).toMatchObject({
      command: process.execPath,
      args: [join(dir, 'servers/echo/dist/main.js'), '--quiet'],
    });
  });

  it('accepts a minimal config and fills every default', async () => {
    const dir = writeTree({ 'c.yaml': 'atom_gov:\n  version: 1.0.0\n' });
    const config = await loadConfig({ configPath: join(dir, 'c.yaml'), dataDir: join(dir, 'd'), env: env(dir) });
    expect(config.servers).toEqual([]);
    expect(config.rules).toEqual([]);
    expect(config.global).toEqual({ mode: 'proxy', audit: true, encryption: false, enforcement: 'hard' });
    expect(config.audit).toEqual({
      backend: 'database',
      encrypt: false,
      piiRedaction: true,
      retentionDays: 365,
      signingKey: join(dir, 'd', 'audit-signing-key.pem'),
      timeZone: 'UTC',
    });
    expect(config.gateway.maxBodyBytes).toBe(4 * 1024 * 1024);
    expect(config.levels.threshold.high_utilization).toBe(0.9);
  });

  it('lets the config override the named-level table', async () => {
    const dir = writeTree({
      'c.yaml': main(
        '  levels:\n    quota:\n      high_usage: 500/day\n    threshold:\n      high_utilization: 95%\n  servers:\n    - name: s\n      command: node\n  policy_files: [p.yaml]\n',
      ),
      'p.yaml': 'mcp_policy:\n  s:\n    quota:\n      limit: high_usage\n      alert_threshold: high_utilization\n',
    });
    const config = await loadConfig({ configPath: join(dir, 'c.yaml'), env: env(dir) });
    expect(action(rule(config, 's'), 'quota')).toMatchObject({
      amount: { limit: 500, period: 'day', periodMs: 24 * HOUR, level: 'high_usage' },
      alertThreshold: 0.95,
    });
  });

  it('reads several policies from one multi-document file', async () => {
    const dir = writeTree({
      'c.yaml': main('  servers:\n    - name: s\n      command: node\n  policy_files: [p.yaml]\n'),
      'p.yaml': [
        'policy:\n  name: a\n  trigger: { mcp_server: s, users: [alice], time: { days: [mon, fri], hours: "09:00-17:30", timezone: Europe/Paris } }\n  action: { deny: { message: office hours only } }',
        'policy:\n  name: b\n  trigger: { mcp_server: s }\n  action: { rate_limit: { limit: 5/second } }',
        '',
      ].join('\n---\n'),
    });
    const config = await loadConfig({ configPath: join(dir, 'c.yaml'), env: env(dir) });
    const a = rule(config, 'a');
    expect(a.trigger.users).toEqual(['alice']);
    expect(a.trigger.time).toEqual({
      days: ['mon', 'fri'],
      startMinute: 540,
      endMinute: 1050,
      timezone: 'Europe/Paris',
    });
    expect(a.actions).toEqual([{ type: 'deny', message: 'office hours only' }]);
    expect(action(rule(config, 'b'), 'rate_limit').rate).toEqual({ limit: 5, period: 'second', periodMs: 1000 });
    expect(rule(config, 'b').source).toMatchObject({ line: 6, column: 1 });
  });

  it('ignores top-level x- keys, which hold shared YAML anchors', async () => {
    const dir = writeTree({
      'c.yaml':
        'x-node: &node\n  command: node\n  args: [server.js]\natom_gov:\n  servers:\n    - { name: one, <<: *node }\n',
    });
    const config = await loadConfig({ configPath: join(dir, 'c.yaml'), env: env(dir) });
    expect(config.servers[0]).toMatchObject({ name: 'one', command: process.execPath, args: ['server.js'] });
  });

  it('reports a missing config file with a way forward', async () => {
    const dir = writeTree({});
    const error = await loadConfig({ configPath: join(dir, 'none.yaml'), env: env(dir) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({
      line: 1,
      column: 1,
      message: 'file not found',
      hint: expect.stringContaining('atom-gov init'),
    });
  });
});

describe('resolveRuntime', () => {
  it('prefers options, then ATOM_GOV_CONFIG / ATOM_GOV_DATA_DIR, then the seed defaults', () => {
    expect(resolveRuntime({ env: { HOME: '/home/u' } })).toMatchObject({
      configPath: '/home/u/.config/atom-sage/governance/mcp-governance.yaml',
      dataDir: '/home/u/.local/share/atom-gov',
    });
    expect(
      resolveRuntime({ env: { HOME: '/home/u', ATOM_GOV_CONFIG: '~/g.yaml', ATOM_GOV_DATA_DIR: '/var/lib/ag' } }),
    ).toMatchObject({
      configPath: '/home/u/g.yaml',
      dataDir: '/var/lib/ag',
    });
    expect(
      resolveRuntime({ configPath: '/etc/ag.yaml', dataDir: '/d', env: { HOME: '/home/u', ATOM_GOV_CONFIG: '/x' } }),
    ).toMatchObject({
      configPath: '/etc/ag.yaml',
      dataDir: '/d',
    });
  });
});

describe('the committed JSON Schemas', () => {
  it('match the zod schemas (run `npm run schema` after changing schema.ts)', async () => {
    const { jsonSchemas } = await import('./json-schema.js');
    for (const [name, text] of Object.entries(jsonSchemas())) {
      expect(readFileSync(join(REPO_ROOT, 'schema', name), 'utf8')).toBe(text);
    }
  });

  it('accept every example for editors, and flag unknown keys', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const read = (rel: string) => readFileSync(join(REPO_ROOT, rel), 'utf8');
    const config = ajv.compile(JSON.parse(read('schema/mcp-governance.schema.json')) as object);
    const policy = ajv.compile(JSON.parse(read('schema/policy.schema.json')) as object);
    for (const file of [
      'examples/mcp-governance.yaml',
      'examples/seed/mcp-governance.yaml',
      'examples/seed/configuration.yaml',
    ]) {
      expect([file, config(parse(read(file)))]).toEqual([file, true]);
    }
    for (const dir of ['examples/policies', 'examples/seed/policies']) {
      for (const name of readdirSync(join(REPO_ROOT, dir))) {
        for (const doc of parseAllDocuments(read(`${dir}/${name}`))) {
          expect([name, policy(doc.toJS())]).toEqual([name, true]);
        }
      }
    }
    expect(config({ atom_gov: { globl: {} } })).toBe(false);
    expect(policy({ polcy: { name: 'x' } })).toBe(false);
  });
});

describe('notifications', () => {
  it('defaults to the outbox, a generated link key and the gateway URL', async () => {
    const dir = writeTree({ 'c.yaml': 'atom_gov:\n  gateway:\n    port: 9123\n' });
    const config = await loadConfig({ configPath: join(dir, 'c.yaml'), dataDir: join(dir, 'data'), env: env(dir) });
    expect(config.notifications).toEqual({
      publicUrl: 'http://127.0.0.1:9123',
      from: 'ATOM-GOV <atom-gov@localhost>',
      outboxDir: join(dir, 'data', 'outbox'),
      linkKeyFile: join(dir, 'data', 'approval-link.key'),
      slack: { socketMode: false, host: '127.0.0.1', port: 3000, channels: {}, users: {} },
    });
  });

  it('reads SMTP and Slack settings with secrets from the environment', async () => {
    const dir = writeTree({
      'c.yaml': [
        'atom_gov:',
        '  notifications:',
        '    public_url: https://gov.example.com/',
        '    from: Gov <gov@example.com>',
        '    link_secret: ${LINK_SECRET}',
        '    smtp: { host: smtp.example.com, user: gov, pass: "${SMTP_PASS}" }',
        '    slack:',
        '      bot_token: ${SLACK_BOT_TOKEN}',
        '      signing_secret: ${SLACK_SIGNING_SECRET}',
        '      channels: { ops-channel: C0OPS }',
        '      users: { U0ALICE: alice@company.com }',
        '',
      ].join('\n'),
    });
    const config = await loadConfig({
      configPath: join(dir, 'c.yaml'),
      dataDir: join(dir, 'data'),
      env: env(dir, {
        LINK_SECRET: 'k'.repeat(40),
        SMTP_PASS: 's3cret',
        SLACK_BOT_TOKEN: 'xoxb-1',
        SLACK_SIGNING_SECRET: 'sig',
      }),
    });
    const n = config.notifications;
    expect(n.publicUrl).toBe('https://gov.example.com');
    expect(n.smtp).toEqual({ host: 'smtp.example.com', port: 587, secure: false, user: 'gov', pass: 's3cret' });
    expect(n.linkSecret).toBe('k'.repeat(40));
    expect(n.slack).toMatchObject({ botToken: 'xoxb-1', signingSecret: 'sig', socketMode: false });
    expect(n.slack.channels).toEqual({ 'ops-channel': 'C0OPS' });
    expect(n.slack.users).toEqual({ U0ALICE: 'alice@company.com' });
  });

  it('rejects a short link secret and names the fix', async () => {
    const dir = writeTree({ 'c.yaml': 'atom_gov:\n  notifications:\n    link_secret: short\n' });
    const err = await loadConfig({ configPath: join(dir, 'c.yaml'), dataDir: join(dir, 'data'), env: env(dir) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({ path: 'atom_gov.notifications.link_secret', line: 3 });
    expect((err as ConfigError).issues[0]!.message).toContain('at least 32 characters');
  });
});

describe('pinning', () => {
  const load = (yaml: string) => {
    const dir = writeTree({ 'c.yaml': yaml });
    return { dir, config: loadConfig({ configPath: join(dir, 'c.yaml'), dataDir: join(dir, 'data'), env: env(dir) }) };
  };

  it('defaults to trust on first use with the lock file in the data dir', async () => {
    const { dir, config } = load('atom_gov:\n  global: { audit: true }\n');
    expect((await config).pinning).toEqual({ mode: 'tofu', lockFile: join(dir, 'data', 'tools.lock.json') });
  });

  it('takes `pinning: strict` or a block with a lock file relative to the config', async () => {
    expect((await load('atom_gov:\n  pinning: strict\n').config).pinning.mode).toBe('strict');
    const { dir, config } = load('atom_gov:\n  pinning: { mode: off, lock_file: pins/tools.lock.json }\n');
    expect((await config).pinning).toEqual({ mode: 'off', lockFile: join(dir, 'pins', 'tools.lock.json') });
  });

  it('rejects an unknown mode with its location', async () => {
    const err = await load('atom_gov:\n  pinning: lenient\n').config.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({ path: 'atom_gov.pinning', line: 2 });
  });
});
