import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditStore, openQuotaStore } from '@atom-gov/audit';
import { type OperationAuditRecord, operationWorkflowId } from '@atom-gov/contracts';
import { createGovernedOperationActivities } from '@atom-gov/worker';
import { CliError } from '../run-cli.js';
import { auditShowCommand } from './audit-show.command.js';

// The records are written by the worker's own activities (recordAudit, reserveQuota, commitQuota), exactly as the
// governed-operation workflow calls them, on a real SQLite database.
describe('atom-gov audit show', () => {
  let dir: string;
  let configPath: string;
  const operationId = operationWorkflowId('acme', 'req-42');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-show-'));
    configPath = join(dir, 'mcp-governance.yaml');
    writeFileSync(configPath, 'atom_gov:\n  version: 1.0.0\n  servers: []\n');
    const db = { sqlitePath: join(dir, 'data', 'audit.sqlite') };
    const audit = await openAuditStore(db);
    const quotas = await openQuotaStore(db);
    const activities = createGovernedOperationActivities({
      audit,
      quotas,
      notifiers: { send: () => Promise.reject(new Error('unused')) },
    });
    const t = Date.UTC(2026, 10, 25, 9, 0, 0);
    const base: Omit<OperationAuditRecord, 'id' | 'event' | 'time' | 'decision' | 'outcome'> = {
      tenant: 'acme',
      user: 'dev@acme.test',
      sessionId: 'sess-1',
      server: 'cloudflare_mcp',
      method: 'tools/call',
      target: 'dns_record_delete',
      policy: 'production_writes',
      rules: ['production_writes', 'quota:api_calls'],
      configVersion: 'f'.repeat(64),
      durationMs: 0,
      requestBytes: 0,
      responseBytes: 0,
      argsSummary: '{"zone":"example.com","record":"www"}',
      operationId,
    };
    const at = (s: number) => new Date(t + s * 1000).toISOString();
    await activities.recordAudit({
      ...base,
      id: `${operationId}:requested`,
      event: 'requested',
      time: at(0),
      decision: 'governed',
      outcome: 'ok',
      intent: 'governed by production_writes',
    });
    await activities.reserveQuota({
      reservationId: `${operationId}:q0:quota:api_calls`,
      tenant: 'acme',
      operationId,
      quota: {
        rule: 'quota',
        resource: 'api_calls',
        per: 'tenant',
        scopeKey: 'acme',
        limit: 100,
        reserve: 1,
        enforcement: 'hard',
      },
      at: at(0),
    });
    for (const [i, who, channel] of [
      [1, 'alice@acme.test', 'slack'],
      [2, 'bob@acme.test', 'email'],
    ] as const) {
      await activities.recordAudit({
        ...base,
        id: `${operationId}:vote:${who}`,
        event: 'vote',
        time: at(60 * i),
        decision: 'governed',
        outcome: 'ok',
        intent: `approve by ${who} via ${channel}${i === 2 ? ': change ticket CHG-7' : ''}`,
      });
    }
    await activities.recordAudit({
      ...base,
      id: `${operationId}:decided`,
      event: 'decided',
      time: at(121),
      decision: 'allow',
      outcome: 'ok',
      intent: 'approved by alice@acme.test, bob@acme.test',
    });
    await activities.recordAudit({
      ...base,
      id: `${operationId}:outcome`,
      event: 'outcome',
      time: at(125),
      decision: 'allow',
      outcome: 'ok',
      intent: 'succeeded',
      durationMs: 830,
      requestBytes: 210,
      responseBytes: 1024,
      resultSummary: 'deleted 1 record',
    });
    await activities.commitQuota({ reservationId: `${operationId}:q0:quota:api_calls`, used: 1 });
    await audit.close();
    await quotas.close();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function show(id: string, opts: { tenant?: string; format?: string } = {}): Promise<string> {
    let stdout = '';
    await auditShowCommand(
      id,
      { config: configPath, dataDir: join(dir, 'data'), ...opts },
      {
        stdout: (t) => (stdout += t),
        stderr: () => undefined,
      },
    );
    return stdout;
  }

  it('tells the whole story: request, decision, approvals, execution, quota, Temporal link', async () => {
    const text = await show(operationId);
    expect(text).toContain(`Operation ${operationId}`);
    expect(text).toMatch(/Request\n {2}at {8}2026-11-25 09:00:00Z\n {2}call {6}tools\/call dns_record_delete/);
    expect(text).toContain('arguments {"zone":"example.com","record":"www"}');
    expect(text).toMatch(
      /Decision\n {2}allow by policy production_writes\n {2}rules {5}production_writes, quota:api_calls/,
    );
    expect(text).toContain('why       approved by alice@acme.test, bob@acme.test');
    expect(text).toContain('2026-11-25 09:01:00Z  approve by alice@acme.test via slack');
    expect(text).toContain('2026-11-25 09:02:00Z  approve by bob@acme.test via email: change ticket CHG-7');
    expect(text).toMatch(/Execution\n {2}2026-11-25 09:02:05Z {2}ok in 830 ms \(request 210 B, response 1024 B\)/);
    expect(text).toContain('result    deleted 1 record');
    expect(text).toMatch(/Quota\n {2}committed 1 on acme\|tenant:acme\|quota\|api_calls/);
    expect(text).toContain(`Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/${operationId}`);
  });

  it('gives the same story as JSON, scoped to a tenant', async () => {
    const story = JSON.parse(await show(operationId, { tenant: 'acme', format: 'json' })) as {
      approvals: Array<{ who: string; via: string }>;
      quota: Array<{ status: string }>;
      timeline: unknown[];
    };
    expect(story.approvals.map((a) => `${a.who}/${a.via}`)).toEqual(['alice@acme.test/slack', 'bob@acme.test/email']);
    expect(story.quota.map((q) => q.status)).toEqual(['committed']);
    expect(story.timeline).toHaveLength(5);
  });

  it('says clearly when there is nothing to show (other tenant, unknown or hostile id)', async () => {
    await expect(show(operationId, { tenant: 'globex' })).rejects.toThrow(
      new CliError(
        `no audit events for operation '${operationId}' of tenant 'globex' (list recent ones with: atom-gov audit --decision governed)`,
      ),
    );
    await expect(show("x' OR 1=1 --")).rejects.toThrow(/no audit events for operation 'x' OR 1=1 --'/);
    await expect(show(operationId, { format: 'xml' })).rejects.toThrow(/--format 'xml' is not one of: text, json/);
  });
});
