// Metrics and traces through the real gateway: calls (allowed, rate-limited, PII-redacted) by the official SDK
// client; GET /metrics is accepted by `promtool check metrics` (Debian's prometheus package) and carries the
// series with tenant/server/tool/decision labels and never the user; `atom-gov metrics --format prometheus
// --output FILE` writes the same text for node_exporter; one OpenTelemetry span per request reaches a real OTLP/HTTP
// receiver configured under `telemetry.otlp` (JSON encoding). The helper's Temporal address answers nothing: pending
// approvals are then absent from /metrics and the failed read is counted, while the scrape itself succeeds.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { metricsCommand } from '../apps/cli/src/commands/metrics.command.js';
import { CALLERS, server, startGoverned, text, type GovernedGateway } from './support/governance-gateway.js';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.js';

const { alice } = CALLERS;
const run = promisify(execFile);
let receiver: OtlpReceiver;
let gw: GovernedGateway;

const POLICY = `policy:
  name: research_rate_limit
  trigger:
    mcp_server: perplexity_mcp
    operation: echo
  action:
    rate_limit:
      limit: 100/hour
      per: user
      burst: 2
---
policy:
  name: pii_redaction
  trigger:
    mcp_server: all
    operation: all
  action:
    pii_detection:
      enabled: true
      redact: true
      patterns: [email]
`;

function promtool(input: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (apt-get install prometheus): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const telemetry = `  telemetry:
    service_name: atom-gov-e2e
    otlp:
      endpoint: ${receiver.endpoint}
      protocol: http/json
      headers: { x-collector-token: s3cret }
`;
  gw = await startGoverned(
    `  servers:\n${server('perplexity_mcp', 'everything')}  policy_files: [p.yaml]\n${telemetry}`,
    { 'p.yaml': POLICY },
  );
  const c = await gw.connect(alice, 'perplexity_mcp');
  expect(text(await c.callTool({ name: 'echo', arguments: { message: 'to jane.doe@example.com' } }))).toContain(
    '[REDACTED:email]',
  );
  expect((await c.callTool({ name: 'echo', arguments: { message: 'two' } })).isError).toBeFalsy();
  expect((await c.callTool({ name: 'echo', arguments: { message: 'three' } })).isError).toBe(true);
  expect(text(await c.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }))).toContain('3');
});

afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

describe('GET /metrics', () => {
  it('is valid Prometheus text exposition with the governance series, labelled without the user', async () => {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    const check = promtool(body);
    expect(check.out).toBe('');
    expect(check.status).toBe(0);
    const labels = 'tenant="acme",server="perplexity_mcp",tool="echo"';
    expect(body).toContain(`atom_gov_calls_total{${labels},method="tools/call",decision="allow",outcome="ok"} 2`);
    expect(body).toContain(`atom_gov_calls_total{${labels},method="tools/call",decision="deny",outcome="denied"} 1`);
    expect(body).toContain(`atom_gov_policy_decisions_total{${labels},decision="deny"} 1`);
    expect(body).toContain(
      `atom_gov_rate_limit_hits_total{${labels},policy="research_rate_limit",enforcement="hard"} 1`,
    );
    expect(body).toContain(`atom_gov_pii_detections_total{${labels},kind="email",where="arguments",action="redact"} 1`);
    expect(body).toMatch(
      /^atom_gov_call_duration_seconds_count\{tenant="acme",server="perplexity_mcp",tool="get-sum",decision="allow"\} 1$/m,
    );
    expect(body).toContain('atom_gov_upstream_up{server="perplexity_mcp"} 1');
    expect(body).toMatch(/^atom_gov_sessions_open [1-9]/m);
    expect(body).toMatch(/^atom_gov_policy_info\{version="[0-9a-f]{64}"\} 1$/m);
    // Every audited request timed its durable append.
    const lag = /^atom_gov_audit_write_lag_seconds_count (\d+)$/m.exec(body);
    expect(Number(lag?.[1])).toBeGreaterThanOrEqual(4);
    expect(body).not.toContain('alice');
    expect(body).not.toMatch(/\buser="/);
  });

  it('Temporal unreachable: pending approvals absent, the failed read counted, the scrape answers', async () => {
    const body = await (await fetch(`${gw.url}/metrics`)).text();
    expect(body).toContain('# TYPE atom_gov_pending_approvals gauge');
    expect(body).not.toMatch(/^atom_gov_pending_approvals\{/m);
    expect(Number(/^atom_gov_scrape_source_errors_total\{source="temporal"\} (\d+)$/m.exec(body)?.[1])).toBeGreaterThan(
      0,
    );
    expect(body).toContain('atom_gov_scrape_source_up{source="temporal"} 0');
    // The shared quota store answers (no quota rule in this policy: no series).
    expect(body).toContain('atom_gov_scrape_source_up{source="quota_store"} 1');
    expect(body).not.toMatch(/^atom_gov_quota_usage_ratio\{/m);
    // The audit store's health, read at scrape time.
    expect(body).toContain('atom_gov_audit_healthy 1');
    expect(body).toMatch(/^atom_gov_audit_oldest_pending_seconds \d/m);
    expect(body).toContain('atom_gov_audit_trail_file_failures_total 0');
    expect(promtool(body).status).toBe(0);
  });
});

describe('GET /healthz', () => {
  it('shows the audit write path (writer, checkpoints, trail file, spool) beside the parts that are down', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(503); // Temporal is unreachable in this file
    const body = (await res.json()) as {
      status: string;
      down: string[];
      degraded: string[];
      audit: { ok: boolean; writer: { lagMs: number }; trailFile: { enabled: boolean } };
    };
    expect(body.status).toBe('down');
    expect(body.down).toContain('temporal');
    expect(body.degraded).toEqual([]);
    expect(body.audit.ok).toBe(true);
    expect(body.audit.writer.lagMs).toBeGreaterThanOrEqual(0);
    expect(body.audit.trailFile.enabled).toBe(false);
  });
});

describe('atom-gov metrics --format prometheus', () => {
  it('writes the textfile atomically for node_exporter, and promtool accepts it', async () => {
    const file = join(gw.dir, 'mcp_metrics.prom');
    await metricsCommand({ format: 'prometheus', url: gw.url, output: file }, () => {
      throw new Error('nothing goes to stdout with --output');
    });
    const written = readFileSync(file, 'utf8');
    expect(written).toContain('# TYPE atom_gov_calls_total counter');
    expect(promtool(written).status).toBe(0);
    expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
    let out = '';
    await metricsCommand({ url: gw.url }, (t) => (out += t));
    expect(out).toContain('atom_gov_policy_decisions_total');

    // Without --url: the configuration's gateway address (a wildcard listen address is reached over loopback).
    const port = new URL(gw.url).port;
    const configPath = join(gw.dir, 'scrape.yaml');
    writeFileSync(configPath, `atom_gov:\n  gateway:\n    host: 0.0.0.0\n    port: ${port}\n`);
    let viaConfig = '';
    await metricsCommand({ config: configPath, dataDir: gw.dir }, (t) => (viaConfig += t));
    expect(viaConfig).toContain('# TYPE atom_gov_calls_total counter');
  });

  it('the built atom-gov prints what promtool accepts, the scrape-time series included (npm run build first)', async () => {
    // Asynchronous: the gateway answering the CLI runs in this process.
    const cli = await run(process.execPath, [
      join(process.cwd(), 'apps/cli/bin/atom-gov.js'),
      'metrics',
      '--format',
      'prometheus',
      '--url',
      gw.url,
    ]);
    expect(cli.stderr).toBe('');
    const check = promtool(cli.stdout);
    expect(check.out).toBe('');
    expect(check.status).toBe(0);
    for (const name of [
      'atom_gov_pending_approvals',
      'atom_gov_quota_usage_ratio',
      'atom_gov_scrape_source_errors_total',
      'atom_gov_audit_healthy',
      'atom_gov_audit_oldest_pending_seconds',
      'atom_gov_audit_checkpoint_failures_total',
      'atom_gov_audit_trail_file_failures_total',
    ])
      expect(cli.stdout).toContain(`# TYPE ${name} `);
    expect(cli.stdout).not.toMatch(/\buser="/);
  });

  it('names the address and the fix when no gateway answers, and leaves the file alone', async () => {
    const file = join(gw.dir, 'untouched.prom');
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(metricsCommand({ url: `http://127.0.0.1:${port}`, output: file }, () => {})).rejects.toThrow(
      `cannot reach the gateway at http://127.0.0.1:${port}/metrics (ECONNREFUSED): start it with 'atom-gov start', or pass --url`,
    );
    expect(existsSync(file)).toBe(false);
    await expect(metricsCommand({ format: 'json', url: gw.url }, () => {})).rejects.toThrow(
      "--format 'json' is not supported: use --format prometheus",
    );
  });
});

describe('OpenTelemetry (telemetry.otlp, a real OTLP/HTTP receiver)', () => {
  it('receives one span per request with tenant/server/tool/decision attributes and no user', async () => {
    const spans = await receiver.waitFor((s) => s.name === 'tools/call perplexity_mcp', 4);
    expect(spans).toHaveLength(4);
    const exports = receiver.requests.filter((r) => r.path === '/v1/traces');
    expect(exports[0]?.contentType).toMatch(/^application\/json/);
    expect(exports[0]?.headers['x-collector-token']).toBe('s3cret');
    expect(spans.every((s) => s.service === 'atom-gov-e2e')).toBe(true);
    expect(spans.map((s) => s.attributes['atom_gov.decision']).sort()).toEqual(['allow', 'allow', 'allow', 'deny']);
    expect(spans.map((s) => s.attributes['atom_gov.tool']).sort()).toEqual(['echo', 'echo', 'echo', 'get-sum']);
    const denied = spans.find((s) => s.attributes['atom_gov.decision'] === 'deny');
    expect(denied?.attributes).toMatchObject({
      'atom_gov.tenant': 'acme',
      'atom_gov.server': 'perplexity_mcp',
      'atom_gov.tool': 'echo',
      'atom_gov.outcome': 'denied',
      'atom_gov.policy': 'research_rate_limit',
    });
    for (const s of spans) {
      expect(JSON.stringify(s.attributes)).not.toContain('alice');
      expect(Object.keys(s.attributes).filter((k) => /user/i.test(k))).toEqual([]);
    }
  });
});
