// The mapping from a policy decision (real config loader + policy engine) onto the governed-operation workflow's
// input: approval mode, escalation, reminders and notification targets from the policy; quotas with their alert
// targets; a deterministic operation id; and the usage measured from a result.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '@atom-gov/config';
import { measuredUsage } from '@atom-gov/governance-client';
import { type InterceptContext } from '@atom-gov/mcp';
import { compilePolicy } from '@atom-gov/policy';
import { toOperationInput } from './temporal-governed.runner.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function engineFor(policy: string) {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-runner-spec-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'p.yaml'), policy);
  writeFileSync(
    join(dir, 'mcp-governance.yaml'),
    `atom_gov:
  servers:
    - { name: cloudflare_mcp, command: node }
  policy_files: [p.yaml]
`,
  );
  const config = await loadConfig({
    configPath: join(dir, 'mcp-governance.yaml'),
    dataDir: join(dir, 'data'),
    env: { HOME: dir },
  });
  return compilePolicy(config);
}

const ctx = (args: Record<string, unknown>): InterceptContext => ({
  tenant: 'acme',
  user: 'dev@company.com',
  roles: ['dev'],
  sessionId: 's-1',
  server: 'cloudflare_mcp',
  method: 'tools/call',
  name: 'workers.deploy',
  args,
  transport: 'http',
});

function decide(engine: Awaited<ReturnType<typeof engineFor>>, c: InterceptContext) {
  return engine.decide({ ...c, local: true, time: new Date('2026-11-25T10:00:00Z') });
}

describe('toOperationInput', () => {
  it('carries approval mode, escalation, reminders and the notification targets from the policy', async () => {
    const engine = await engineFor(`policy:
  name: production_deployment
  trigger: { mcp_server: cloudflare_mcp, operation: workers.deploy }
  action:
    require_approval:
      approvers: [ops-lead@company.com, cto@company.com]
      min_approvals: 2
      timeout: 1h
      on_timeout: deny
      approval_mode: defer
      escalate_after: 30m
      escalate_to: [vp@company.com]
      reminders: 10m
    quota: { limit: 100/day, resource: cost_units, per: tenant, alert_threshold: 80% }
  audit:
    notification: [slack://ops-channel, oncall@company.com]
`);
    const c = ctx({ script_name: 'api-prod-eu' });
    const d = decide(engine, c);
    expect(d.effect).toBe('governed');
    const input = toOperationInput(c, d, { name: 'workers.deploy', arguments: c.args });
    expect(input).toMatchObject({
      tenant: 'acme',
      requester: 'dev@company.com',
      tool: 'workers.deploy',
      policy: 'production_deployment',
      approvalMode: 'defer',
      approval: {
        approvers: ['ops-lead@company.com', 'cto@company.com'],
        minApprovals: 2,
        timeoutMs: 3_600_000,
        onTimeout: 'deny',
        escalation: {
          afterMs: 1_800_000,
          approvers: ['vp@company.com'],
          notify: ['slack://ops-channel', 'oncall@company.com'],
        },
        reminderEveryMs: 600_000,
        notify: ['slack://ops-channel', 'oncall@company.com'],
      },
      quotas: [
        {
          resource: 'cost_units',
          per: 'tenant',
          scopeKey: 'acme',
          limit: 100,
          periodMs: 86_400_000,
          alertThreshold: 0.8,
          notify: ['slack://ops-channel', 'oncall@company.com'],
        },
      ],
    });
    expect(input.operationId).toMatch(/^op-[0-9a-f]{20}$/);
    // Same call, same operation; other arguments, another one (an approval binds to the exact call).
    expect(toOperationInput(c, d, { arguments: { script_name: 'api-prod-eu' } }).operationId).toBe(input.operationId);
    expect(toOperationInput(c, d, { arguments: { script_name: 'api-prod-us' } }).operationId).not.toBe(
      input.operationId,
    );
  });

  it('waits by default, and a quota-only policy never defers', async () => {
    const engine = await engineFor(`policy:
  name: monthly_quota
  trigger: { mcp_server: cloudflare_mcp }
  action:
    quota: { limit: 1000/month, per: user }
`);
    const c = ctx({});
    const input = toOperationInput(c, decide(engine, c), { arguments: {} });
    expect(input.approval).toBeUndefined();
    expect(input.approvalMode).toBe('wait');
    // Counter key of a per-user quota: the opaque reference, never the user's address.
    expect(input.quotas?.[0]?.scopeKey).toMatch(/^u-[0-9a-f]{16}$/);
  });
});

describe('measuredUsage', () => {
  it('reports one call, the duration as compute seconds, the result size, and cost units the upstream named', () => {
    const result = { content: [{ type: 'text', text: 'é' }], _meta: { cost_units: 3.5 } };
    const bytes = Buffer.byteLength(JSON.stringify(result), 'utf8');
    expect(measuredUsage(result, 1500)).toEqual({ api_calls: 1, compute_seconds: 1.5, bytes, cost_units: 3.5 });
    expect(measuredUsage({ content: [] }, 20)).not.toHaveProperty('cost_units');
  });
});
