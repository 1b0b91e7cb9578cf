// Metrics and traces of governed calls: two real gateways (GOVERNED_RUNNER on Temporal) on one config, the real
// worker on the suite's Temporal dev server, server-everything, the official SDK client, a real OTLP/HTTP receiver.
// - Pending approvals are a Temporal visibility count: while a call started through gateway A waits, gateway B's
//   /metrics shows it too; once approved it is gone from both.
// - Quota usage comes from the shared quota store at scrape time.
// - The governed call's span carries the Temporal workflow id, and the workflow's start event carries the span's
//   W3C trace context (the workflow's own spans share the trace).
// - /healthz is ok, then degraded (200) naming the trail file once its writes fail; /metrics counts the failure.
// Scrape-time reads are cached for 5 s and visibility is eventually consistent: the checks on /metrics poll.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningGateway, startGateway } from '@atom-gov/gateway';
import { argsHash } from '@atom-gov/governance-client';
import { WORKFLOW_ID_ATTRIBUTE } from '@atom-gov/metrics';
import { type Client } from '@modelcontextprotocol/client';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.js';
import { type GovernedStack, startGovernedStack } from './support/governed-stack.js';

const KEY = 'agk_erin_0123456789ab';

let stack: GovernedStack;
let trailPath: string;
let receiver: OtlpReceiver;
let gatewayA: RunningGateway;
let gatewayB: RunningGateway;
let temporal: TemporalClient;
let client: Client;

const metrics = async (gw: RunningGateway) => (await fetch(`${gw.url}/metrics`)).text();
const series = (body: string, name: string, labels: string): number | undefined => {
  const m = new RegExp(`^${name}\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
};
const PENDING = () => `tenant="${stack.tenant}",server="everything"`;

/** Polls until `check` holds (scrape-time reads are cached for 5 s; Temporal visibility is eventually consistent). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  stack = await startGovernedStack({
    name: 'governed-metrics',
    keys: [{ name: 'erin', key: KEY, user: 'erin@company.com', roles: ['dev'] }],
    policies: {
      'policies.yaml': `policy:
  name: echo_needs_approval
  trigger:
    mcp_server: everything
    operation: echo
  action:
    require_approval:
      approvers: [alice@company.com]
      timeout: 60s
      on_timeout: deny
---
policy:
  name: sum_quota
  trigger:
    mcp_server: everything
    operation: get-sum
  action:
    quota: { limit: 10/day, per: tenant }
`,
    },
    extraConfig: (dir) => {
      trailPath = join(dir, 'trail.jsonl');
      return `  audit:
    trail_file: ${trailPath}
  telemetry:
    service_name: atom-gov-governed-e2e
    otlp:
      endpoint: ${receiver.endpoint}
      protocol: http/json
`;
    },
    auditChain: true,
    gateway: false,
  });
  const start = () =>
    startGateway({
      config: stack.config,
      audit: stack.audit,
      temporalAddress: stack.temporalAddress,
      port: 0,
      logger: ['error'],
    });
  gatewayA = await start();
  gatewayB = await start();
  temporal = new TemporalClient({
    connection: await Connection.connect({ address: stack.temporalAddress }),
    namespace: stack.config.temporal.namespace,
  });
  client = await stack.connect(KEY, { gatewayUrl: gatewayA.url });
}, 120_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  await gatewayA?.close();
  await gatewayB?.close();
  await stack?.close();
  await temporal?.connection.close();
  await receiver?.close();
});

describe('governed call metrics and trace', () => {
  it('is pending in every gateway while it waits (Temporal visibility), traced with its workflow id', async () => {
    const call = client.callTool({ name: 'echo', arguments: { message: 'ship-it' } });
    const hash = argsHash({ message: 'ship-it' });
    let operationId: string | undefined;
    await until('the governed operation listed as pending', async () => {
      operationId = (await stack.gc.listPending({ tenant: stack.tenant })).find(
        (o) => o.state.argsHash === hash,
      )?.operationId;
      return operationId !== undefined;
    });
    // Gateway B never saw the call: its number comes from Temporal, the same as A's.
    await until(
      'pending 1 on gateway A',
      async () => series(await metrics(gatewayA), 'atom_gov_pending_approvals', PENDING()) === 1,
    );
    await until(
      'pending 1 on gateway B',
      async () => series(await metrics(gatewayB), 'atom_gov_pending_approvals', PENDING()) === 1,
    );
    expect(await metrics(gatewayB)).toContain('atom_gov_scrape_source_up{source="temporal"} 1');

    await stack.gc.decide(operationId!, { approver: 'alice@company.com', decision: 'approve', channel: 'cli' });
    const result = await call;
    expect(result.isError).not.toBe(true);

    for (const gw of [gatewayA, gatewayB])
      await until(
        'no pending series',
        async () => series(await metrics(gw), 'atom_gov_pending_approvals', PENDING()) === undefined,
      );
    const body = await metrics(gatewayA);
    expect(body).toContain(
      `atom_gov_policy_decisions_total{tenant="${stack.tenant}",server="everything",tool="echo",decision="governed"} 1`,
    );
    expect(body).toMatch(
      new RegExp(
        `^atom_gov_call_duration_seconds_count\\{tenant="${stack.tenant}",server="everything",tool="echo",decision="governed"\\} 1$`,
        'm',
      ),
    );

    // One span for the call, at the OTLP receiver, with the workflow id and no user.
    const [span, ...more] = await receiver.waitFor(
      (s) => s.name === 'tools/call everything' && s.attributes['atom_gov.tool'] === 'echo',
    );
    expect(more).toEqual([]);
    expect(span?.service).toBe('atom-gov-governed-e2e');
    expect(span?.attributes).toMatchObject({
      'atom_gov.tenant': stack.tenant,
      'atom_gov.server': 'everything',
      'atom_gov.tool': 'echo',
      'atom_gov.decision': 'governed',
      'atom_gov.policy': 'echo_needs_approval',
      'atom_gov.operation_id': operationId,
      [WORKFLOW_ID_ATTRIBUTE]: operationId,
    });
    expect(JSON.stringify(span?.attributes)).not.toContain('erin');

    // The workflow was started inside that span: its start event carries the span's trace context.
    const history = await temporal.workflow.getHandle(operationId!).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const tracer = started?.header?.fields?.['_tracer-data'];
    expect(tracer).toBeDefined();
    const carrier = defaultPayloadConverter.fromPayload<{ traceparent?: string }>(tracer!);
    const [, traceId, parentId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(carrier.traceparent ?? '') ?? [];
    expect(traceId).toBe(span?.traceId);
    // The parent is the call's span itself, or the Temporal client's start span under it.
    const parent = receiver.spans.find((s) => s.spanId === parentId);
    expect(parentId === span?.spanId || parent?.parentSpanId === span?.spanId).toBe(true);
  }, 90_000);

  it('reports quota usage from the shared quota store on every gateway', async () => {
    const r = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    expect(r.isError).not.toBe(true);
    const ratio = `tenant="${stack.tenant}",resource="api_calls"`;
    for (const gw of [gatewayA, gatewayB])
      await until(
        'quota usage 1 of 10',
        async () => series(await metrics(gw), 'atom_gov_quota_usage_ratio', ratio) === 0.1,
      );
    expect(await metrics(gatewayB)).toContain('atom_gov_scrape_source_up{source="quota_store"} 1');
  }, 60_000);

  it('/healthz is degraded (200) naming the trail file once its writes fail, and /metrics counts it', async () => {
    const ok = await fetch(`${gatewayA.url}/healthz`);
    const healthy = (await ok.json()) as {
      status: string;
      audit: { trailFile: { enabled: boolean; failures: number } };
    };
    expect(ok.status).toBe(200);
    expect(healthy.status).toBe('ok');
    expect(healthy.audit.trailFile).toMatchObject({ enabled: true, failures: 0 });

    // A directory where the trail file was: the next mirrored batch fails (EISDIR), the events stay in the database.
    rmSync(trailPath);
    mkdirSync(trailPath);
    const r = await client.callTool({ name: 'get-tiny-image', arguments: {} });
    expect(r.isError).not.toBe(true);
    const res = await fetch(`${gatewayA.url}/healthz`);
    const report = (await res.json()) as { status: string; degraded: string[]; audit: { ok: boolean } };
    expect(res.status).toBe(200);
    expect(report.status).toBe('degraded');
    expect(report.degraded).toEqual([expect.stringContaining(`audit trail file ${trailPath} write failing since`)]);
    expect(report.audit.ok).toBe(false);
    const body = await metrics(gatewayA);
    expect(body).toContain('atom_gov_audit_healthy 0');
    expect(body).toMatch(/^atom_gov_audit_trail_file_failures_total [1-9]/m);
  }, 60_000);
});
