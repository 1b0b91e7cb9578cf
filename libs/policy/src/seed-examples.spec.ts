// Each policy example of the seed gives the decision it promises.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AtomGovConfig, loadConfig } from '@atom-gov/config';
import { compilePolicy, type DecisionContext } from './index.js';
import { loadTree, REPO_ROOT, writeTree } from './test-config.js';

const HOUR = 3_600_000;
const MONTH = 30 * 24 * HOUR;

/** The seed's servers and definitions, without the server policies, plus one seed policy example. */
async function withExample(file: string): Promise<AtomGovConfig> {
  return loadTree({
    'mcp-governance.yaml': `
atom_gov:
  servers:
    - { name: cloudflare_mcp, command: node }
    - { name: perplexity_mcp, command: node }
    - { name: ollama_mcp, command: node }
  policies:
    rate_limit: { type: counter, window: sliding, enforcement: hard }
    require_approval: { type: workflow, approvers: 2, timeout: 1h, fallback: deny }
    resource_limit: { type: resource_quota, enforcement: hard, alert_threshold: 80% }
  policy_files: [example.yaml]
`,
    'example.yaml': readFileSync(join(REPO_ROOT, 'examples/seed/policies', file), 'utf8'),
  });
}

const call = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  tenant: 'acme',
  user: 'alice',
  roles: [],
  server: 'cloudflare_mcp',
  method: 'tools/call',
  name: 'workers.deploy',
  transport: 'http',
  local: true,
  time: new Date('2026-03-30T10:00:00Z'),
  ...over,
});

describe('seed policy examples', () => {
  it('approval workflow: workers.deploy on *-prod-* is governed by 2 approvers, 1h, deny on timeout', async () => {
    const engine = compilePolicy(await withExample('05-approval-workflow.yaml'));
    const prod = engine.decide(call({ args: { script_name: 'my-prod-worker' } }));
    expect(prod.effect).toBe('governed');
    expect(prod.policy).toBe('production_deployment');
    expect(prod.governed?.approval).toEqual({
      rule: 'production_deployment',
      approvers: ['ops-lead@company.com', 'cto@company.com'],
      minApprovals: 2,
      timeoutMs: HOUR,
      onTimeout: 'deny',
      approvalMode: 'wait',
    });
    expect(prod.obligations.auditLevel).toBe('full');
    expect(prod.obligations.alerts.targets).toEqual([
      { kind: 'slack', channel: 'ops-channel', uri: 'slack://ops-channel' },
    ]);
    // Deep argument values count too.
    const nested = engine.decide(call({ args: { deploy: { targets: ['eu-prod-1', 'x'] } } }));
    expect(nested.effect).toBe('governed');

    const staging = engine.decide(call({ args: { script_name: 'staging' } }));
    expect(staging.effect).toBe('allow');
    expect(staging.governed).toBeUndefined();
    expect(engine.decide(call({ name: 'workers.list', args: { script_name: 'my-prod-worker' } })).effect).toBe('allow');
  });

  it('rate limiting: research.* on perplexity_mcp gets a per-user 100/hour limit with burst 10', async () => {
    const engine = compilePolicy(await withExample('06-rate-limiting.yaml'));
    const d = engine.decide(call({ server: 'perplexity_mcp', name: 'research.deep' }));
    expect(d.effect).toBe('allow');
    expect(d.rules).toEqual(['research_rate_limit']);
    expect(d.obligations.rateLimits).toEqual([
      {
        rule: 'research_rate_limit',
        spec: {
          name: 'research_rate_limit',
          limit: 100,
          periodMs: HOUR,
          window: 'sliding',
          burst: 10,
          per: ['user'],
          enforcement: 'hard',
        },
        alertOnLimit: true,
      },
    ]);
    expect(d.obligations.alerts.onLimit).toBe(true);
    expect(d.obligations.auditLevel).toBe('summary');
    expect(engine.decide(call({ server: 'perplexity_mcp', name: 'chat' })).obligations.rateLimits).toEqual([]);
    expect(engine.decide(call({ name: 'research.deep' })).obligations.rateLimits).toEqual([]);
  });

  it('resource management: a soft monthly quota per tenant with an 80% alert', async () => {
    const engine = compilePolicy(await withExample('07-resource-quota.yaml'));
    const d = engine.decide(call({ server: 'perplexity_mcp', name: 'anything' }));
    expect(d.effect).toBe('governed');
    expect(d.governed).toEqual({
      quotas: [
        {
          rule: 'monthly_quota',
          resource: 'api_calls',
          amount: { limit: 100_000, period: 'month', periodMs: MONTH, level: 'high_usage' },
          per: 'tenant',
          enforcement: 'soft',
          alertThreshold: 0.8,
        },
      ],
    });
    expect(d.obligations.resourceTracking).toBe(true);
    expect(engine.decide(call()).effect).toBe('allow');
  });

  it('PII protection: every server and operation is scanned for ssn, credit_card, email, phone and redacted', async () => {
    const engine = compilePolicy(await withExample('08-pii-protection.yaml'));
    for (const server of ['cloudflare_mcp', 'perplexity_mcp', 'ollama_mcp']) {
      const d = engine.decide(call({ server, name: 'any.tool' }));
      expect(d.effect).toBe('allow');
      expect(d.obligations.pii).toEqual({
        rules: ['pii_redaction'],
        scanner: { kinds: ['ssn', 'credit_card', 'email', 'phone'], action: 'redact' },
        logRedacted: true,
        alertOnPii: true,
      });
    }
  });

  it('use case 1: production writes on cloudflare_mcp need approval (undefined group: every operation)', async () => {
    const engine = compilePolicy(await withExample('01-enterprise-deployment.yaml'));
    const d = engine.decide(call({ name: 'workers.deploy' }));
    expect(d.effect).toBe('governed');
    expect(d.governed?.approval).toMatchObject({
      rule: 'cloudflare_mcp.production_writes',
      approvers: ['ops-team@company.com'],
      minApprovals: 1,
      onTimeout: 'deny',
    });
    expect(d.obligations.auditLevel).toBe('full');
    expect(engine.decide(call({ server: 'perplexity_mcp' })).effect).toBe('allow');
  });

  it('use case 2: research queries are rate limited 100/hour with resource tracking', async () => {
    const engine = compilePolicy(await withExample('02-resource-management.yaml'));
    const d = engine.decide(call({ server: 'perplexity_mcp', name: 'search' }));
    expect(d.effect).toBe('allow');
    expect(d.obligations.rateLimits).toHaveLength(1);
    expect(d.obligations.rateLimits[0]).toMatchObject({
      rule: 'perplexity_mcp.research_queries',
      spec: { limit: 100, periodMs: HOUR, enforcement: 'hard' },
      alertThreshold: 0.9,
    });
    expect(d.obligations.resourceTracking).toBe(true);
  });

  it('use case 3: SOC 2 logs every operation in full and scans for PII', async () => {
    const engine = compilePolicy(await withExample('03-compliance-requirements.yaml'));
    const d = engine.decide(call({ server: 'ollama_mcp', name: 'generate' }));
    expect(d.effect).toBe('allow');
    expect(d.obligations.auditLevel).toBe('full');
    expect(d.obligations.pii?.scanner.kinds).toEqual(['ssn', 'credit_card', 'email', 'phone']);
  });

  it('use case 4: tenants are strictly isolated with per-tenant quotas', async () => {
    const engine = compilePolicy(await withExample('04-multi-tenant-saas.yaml'));
    const d = engine.decide(call({ server: 'perplexity_mcp', name: 'x' }));
    expect(d.effect).toBe('governed');
    expect(d.obligations.tenantIsolation).toBe('strict');
    expect(d.governed?.quotas.map((q) => [q.resource, q.amount.limit, q.amount.period, q.per])).toEqual([
      ['api_calls', 10_000, 'month', 'tenant'],
      ['storage_gb', 100, undefined, 'tenant'],
      ['compute_hours', 50, undefined, 'tenant'],
    ]);
  });

  it("the configuration block's server policies", async () => {
    const home = writeTree({});
    const config = await loadConfig({
      configPath: join(REPO_ROOT, 'examples/seed/configuration.yaml'),
      dataDir: join(home, 'data'),
      env: { HOME: home, PATH: process.env.PATH },
    });
    const engine = compilePolicy(config);

    const cf = engine.decide(call({ name: 'workers.list' }));
    expect(cf.effect).toBe('governed'); // production_writes is not defined: fail closed, every operation
    expect(cf.governed?.approval).toEqual({
      rule: 'cloudflare_mcp.require_approval.production_writes',
      approvers: [],
      minApprovals: 2,
      timeoutMs: HOUR,
      onTimeout: 'deny',
      approvalMode: 'wait',
    });
    expect(cf.obligations.rateLimits.map((r) => r.spec)).toEqual([
      {
        name: 'cloudflare_mcp.rate_limit',
        limit: 1000,
        periodMs: HOUR,
        window: 'sliding',
        per: ['server'],
        enforcement: 'hard',
      },
    ]);
    expect(cf.configVersion).toBe(config.version);

    const px = engine.decide(call({ server: 'perplexity_mcp', name: 'search' }));
    expect(px.effect).toBe('governed');
    expect(px.obligations.rateLimits.map((r) => [r.spec.limit, r.spec.per])).toEqual([[100, ['server']]]);
    expect(px.governed?.quotas).toEqual([
      expect.objectContaining({
        rule: 'perplexity_mcp.resource_limit',
        amount: expect.objectContaining({ limit: 100_000 }),
        enforcement: 'hard',
        alertThreshold: 0.8,
      }),
    ]);

    const remote = engine.decide(call({ server: 'ollama_mcp', name: 'generate', local: false }));
    expect(remote.effect).toBe('deny');
    expect(remote.policy).toBe('ollama_mcp.local_only');
    expect(remote.reason).toBe('server ollama_mcp is local_only and the caller is not on this host');
    const local = engine.decide(call({ server: 'ollama_mcp', name: 'generate', local: true }));
    expect(local.effect).toBe('allow');
    expect(local.obligations.auditLevel).toBe('summary');
    // local_only also hides the server's tools from remote callers.
    expect(engine.visible({ ...call({ server: 'ollama_mcp', local: false }) }, 'tools', 'generate')).toBe(false);
  });
});
