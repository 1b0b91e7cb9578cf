// Test helper (not exported from the package): a config and an audit trail for October 2026 shaped like the
// gateway and the governed-operation workflow write them, with known chargeback totals.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEventInput } from '@atom-gov/audit';

export const FIXTURE_CONFIG = `atom_gov:
  version: 1.0.0
  servers:
    - name: perplexity_mcp
      command: /bin/true
      policies:
        - rate_limit: 100/hour
        - audit_level: full
    - name: cloudflare_mcp
      command: /bin/true
  audit:
    retention_days: 2555
    pii_redaction: true
  costs:
    currency: USD
    servers:
      perplexity_mcp:
        per_call: 0.01
        per_second: 0.5
        per_kb: 0.001
        per_unit: 0.002
        tools:
          deep_research: { per_call: 0.1 }
    budgets:
      acme: 1/month
      globex: { amount: 100, period: month }
---
policy:
  name: production_deployment
  trigger:
    mcp_server: cloudflare_mcp
    operation: workers.deploy
  action:
    require_approval:
      approvers: [ops-lead@company.com, cto@company.com]
      min_approvals: 2
`;

/** Expected chargeback of the fixture for 2026-10 (see fixtureEvents). */
export const FIXTURE_COSTS = {
  acme: 10 * (0.01 + 2 * 0.5 + (2048 / 1024) * 0.001 + 5 * 0.002) + 2 * (0.1 + 1 * 0.5),
  globex: 2 * (0.01 + 0.1 * 0.5),
};

export function writeFixtureConfig(): { dir: string; configPath: string; dataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-reports-'));
  const configPath = join(dir, 'mcp-governance.yaml');
  writeFileSync(configPath, FIXTURE_CONFIG);
  return { dir, configPath, dataDir: join(dir, 'data') };
}

const day = (d: number, h = 12, m = 0) => new Date(Date.UTC(2026, 9, d, h, m));

/** The trail; `configVersion` is the current config's version except for one older event. */
export function fixtureEvents(configVersion: string): AuditEventInput[] {
  const base = {
    method: 'tools/call',
    configVersion,
    requestBytes: 0,
    responseBytes: 0,
    durationMs: 0,
  } as const;
  const events: AuditEventInput[] = [];
  const add = (e: Partial<AuditEventInput> & Pick<AuditEventInput, 'time' | 'tenant' | 'user' | 'server'>) =>
    events.push({ id: randomUUID(), decision: 'allow', outcome: 'ok', ...base, ...e });
  for (let i = 1; i <= 10; i++) {
    add({
      time: day(i),
      tenant: 'acme',
      user: 'alice@acme.example',
      server: 'perplexity_mcp',
      target: 'search',
      durationMs: 2000,
      requestBytes: 1024,
      responseBytes: 1024,
      resultSummary: '{"content":[{"type":"text","text":"ok"}],"_meta":{"cost_units":5}}',
    });
  }
  for (const d of [3, 4]) {
    add({
      time: day(d, 15),
      tenant: 'acme',
      user: 'bob@acme.example',
      server: 'perplexity_mcp',
      target: 'deep_research',
      durationMs: 1000,
    });
  }
  for (const m of [1, 2, 3]) {
    add({
      time: day(5, 9, m),
      tenant: 'globex',
      user: 'carol@globex.example',
      server: 'perplexity_mcp',
      target: 'search',
      decision: 'deny',
      outcome: 'denied',
      policy: 'perplexity_mcp.rate_limit',
      errorMessage: `Denied by policy perplexity_mcp.rate_limit: rate limit 100/hour per user exceeded; retry after ${m} min`,
    });
  }
  add({
    time: day(6),
    tenant: 'globex',
    user: 'carol@globex.example',
    server: 'perplexity_mcp',
    target: 'search',
    durationMs: 100,
    errorMessage: 'pii in arguments: email×2, ssn×1 (redacted)',
  });
  // A governed call approved by two approvers: the gateway's record of the call plus the workflow's records.
  const wf = (d: Date, operationId: string, intent: string, extra: Partial<AuditEventInput> = {}) =>
    add({
      time: d,
      tenant: 'acme',
      user: 'dave@acme.example',
      server: 'cloudflare_mcp',
      target: 'workers.deploy',
      decision: 'governed',
      policy: 'production_deployment',
      operationId,
      intent,
      ...extra,
    });
  wf(day(7, 10, 0), 'op-approved', 'requested: governed by production_deployment');
  wf(day(7, 10, 5), 'op-approved', 'vote: approve by ops-lead@company.com via slack');
  wf(day(7, 10, 9), 'op-approved', 'vote: approve by cto@company.com via email: ok for release 42');
  wf(day(7, 10, 9), 'op-approved', 'decided: approved by ops-lead@company.com, cto@company.com', { decision: 'allow' });
  add({
    time: day(7, 10, 10),
    tenant: 'acme',
    user: 'dave@acme.example',
    server: 'cloudflare_mcp',
    target: 'workers.deploy',
    decision: 'governed',
    policy: 'production_deployment',
    operationId: 'op-approved',
    durationMs: 300,
    requestBytes: 200,
    responseBytes: 300,
  });
  wf(day(8, 11, 0), 'op-rejected', 'requested: governed by production_deployment');
  wf(day(8, 11, 2), 'op-rejected', 'vote: reject by cto@company.com via cli: change freeze', { outcome: 'denied' });
  wf(day(8, 11, 2), 'op-rejected', 'decided: rejected by cto@company.com: change freeze', {
    decision: 'deny',
    outcome: 'denied',
  });
  add({
    time: day(8, 11, 3),
    tenant: 'acme',
    user: 'dave@acme.example',
    server: 'cloudflare_mcp',
    target: 'workers.deploy',
    decision: 'deny',
    outcome: 'denied',
    policy: 'production_deployment',
    operationId: 'op-rejected',
    errorMessage: 'Denied by policy production_deployment: rejected by cto@company.com: change freeze',
  });
  // Under an older configuration, inside the period.
  add({
    time: day(1, 8),
    tenant: 'globex',
    user: 'carol@globex.example',
    server: 'perplexity_mcp',
    target: 'search',
    configVersion: '0'.repeat(64),
    durationMs: 100,
  });
  // Outside the period: a day before it, and one older than the 2555-day retention.
  add({
    time: new Date(Date.UTC(2026, 8, 30, 23)),
    tenant: 'acme',
    user: 'alice@acme.example',
    server: 'perplexity_mcp',
    target: 'search',
    durationMs: 1000,
  });
  add({
    time: new Date(Date.UTC(2018, 0, 1)),
    tenant: 'acme',
    user: 'alice@acme.example',
    server: 'perplexity_mcp',
    target: 'search',
  });
  return events;
}
