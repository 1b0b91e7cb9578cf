// Metrics and traces of a governed call: the real gateway (GOVERNED_RUNNER on Temporal), the real worker on the
// suite's Temporal dev server, server-everything, the official SDK client. While the call waits for approval
// the gateway's /metrics shows it pending; once approved the gauge drops back, the call is counted as governed,
// and its OpenTelemetry span carries the Temporal workflow id (= the operation id).
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuditStore, openAuditStore } from '@atom-gov/audit';
import { loadConfig } from '@atom-gov/config';
import { startGateway, type RunningGateway } from '@atom-gov/gateway';
import { argsHash, GovernanceClient } from '@atom-gov/governance-client';
import { WORKFLOW_ID_ATTRIBUTE } from '@atom-gov/metrics';
import { temporalTestEnv, uniqueTaskQueue } from '@atom-gov/testing';
import { startWorker, type RunningWorker } from '@atom-gov/worker';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const KEY = 'agk_erin_0123456789ab';
const TENANT = `t-${randomUUID().slice(0, 8)}`;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

let dir: string;
let audit: AuditStore;
let worker: RunningWorker;
let gateway: RunningGateway;
let gc: GovernanceClient;
let client: Client;

const metrics = async () => (await fetch(`${gateway.url}/metrics`)).text();
const pendingGauge = (body: string) =>
  Number(
    new RegExp(`^atom_gov_pending_approvals\\{tenant="${TENANT}",server="everything"\\} (\\d+)$`, 'm').exec(
      body,
    )?.[1] ?? 0,
  );

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  const env = temporalTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'atom-gov-governed-metrics-'));
  writeFileSync(
    join(dir, 'approval.yaml'),
    `policy:
  name: echo_needs_approval
  trigger:
    mcp_server: everything
    operation: echo
  action:
    require_approval:
      approvers: [alice@company.com]
      timeout: 60s
      on_timeout: deny
`,
  );
  writeFileSync(
    join(dir, 'mcp-governance.yaml'),
    `atom_gov:
  version: 1.0.0
  temporal: { address: ${env.address}, namespace: ${env.namespace}, task_queue: ${uniqueTaskQueue('gov-metrics')} }
  gateway:
    host: 127.0.0.1
    port: 0
    api_keys:
      - name: erin
        sha256: ${createHash('sha256').update(KEY).digest('hex')}
        tenant: ${TENANT}
        user: erin@company.com
        roles: [dev]
  servers:
    - name: everything
      command: ${JSON.stringify(process.execPath)}
      args: ${JSON.stringify([everything, 'stdio'])}
  policy_files: [approval.yaml]
`,
  );
  const config = await loadConfig({ configPath: join(dir, 'mcp-governance.yaml'), dataDir: dir, env: { HOME: dir } });
  worker = await startWorker({ config, temporalAddress: env.address, registerSearchAttributes: true });
  audit = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') });
  gateway = await startGateway({ config, audit, temporalAddress: env.address, port: 0, logger: ['error'] });
  gc = await GovernanceClient.connect({
    address: env.address,
    namespace: env.namespace,
    taskQueue: config.temporal.taskQueue,
  });
  client = new Client({ name: 'governed-metrics-e2e', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/everything`), {
      requestInit: { headers: { authorization: `Bearer ${KEY}` } },
    }),
  );
}, 120_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  await gateway?.close();
  await worker?.shutdown();
  await gc?.close();
  await audit?.close();
  await provider.shutdown();
  trace.disable();
  rmSync(dir, { recursive: true, force: true });
});

describe('governed call metrics and trace', () => {
  it('is pending in /metrics while it waits, counted as governed after, and traced with its workflow id', async () => {
    const call = client.callTool({ name: 'echo', arguments: { message: 'ship-it' } });
    const hash = argsHash({ message: 'ship-it' });
    let operationId: string | undefined;
    const deadline = Date.now() + 30_000;
    while (operationId === undefined) {
      if (Date.now() > deadline) throw new Error('the governed operation was never listed as pending');
      const op = (await gc.listPending({ tenant: TENANT })).find((o) => o.state.argsHash === hash);
      operationId = op?.operationId;
      if (!operationId) await new Promise((r) => setTimeout(r, 200));
    }
    expect(pendingGauge(await metrics())).toBe(1);

    await gc.decide(operationId, { approver: 'alice@company.com', decision: 'approve', channel: 'cli' });
    const result = await call;
    expect(result.isError).not.toBe(true);

    const body = await metrics();
    expect(pendingGauge(body)).toBe(0);
    expect(body).toContain(
      `atom_gov_policy_decisions_total{tenant="${TENANT}",server="everything",tool="echo",decision="governed"} 1`,
    );
    expect(body).toMatch(
      new RegExp(
        `^atom_gov_call_duration_seconds_count\\{tenant="${TENANT}",server="everything",tool="echo",decision="governed"\\} 1$`,
        'm',
      ),
    );

    const span = exporter
      .getFinishedSpans()
      .find((s) => s.name === 'tools/call everything' && s.attributes['atom_gov.decision'] === 'governed');
    expect(span?.attributes).toMatchObject({
      'atom_gov.tenant': TENANT,
      'atom_gov.tool': 'echo',
      'atom_gov.policy': 'echo_needs_approval',
      [WORKFLOW_ID_ATTRIBUTE]: operationId,
    });
  }, 90_000);
});
