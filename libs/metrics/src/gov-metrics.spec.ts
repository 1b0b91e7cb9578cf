import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { setImmediate as tick } from 'node:timers/promises';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { register as globalRegistry } from 'prom-client';
import { CallTracer, WORKFLOW_ID_ATTRIBUTE } from './call-tracer.js';
import { createMetrics } from './gov-metrics.js';
import { enableTracePropagation } from './otlp-exporter.js';

/** Debian's promtool (package prometheus): the same parser node_exporter's textfile collector uses. */
function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (apt-get install prometheus): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('GovMetrics', () => {
  it('keeps its own registry: two instances never share series and the global registry stays empty', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.decision('acme', 'files', 'read_file', 'allow');
    expect(await a.exposition()).toContain(
      'atom_gov_policy_decisions_total{tenant="acme",server="files",tool="read_file",decision="allow"} 1',
    );
    expect(await b.exposition()).not.toContain('tenant="acme"');
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(0);
  });

  it('writes an exposition that promtool check metrics accepts, with latency histograms and no user label', async () => {
    const m = createMetrics();
    m.sessionCount = () => 3;
    m.setPolicyVersion('a'.repeat(64));
    m.setPolicyVersion('b'.repeat(64)); // the old version's series goes away
    m.observeOperation({
      tenant: 'acme',
      server: 'everything',
      method: 'tools/list',
      decision: 'allow',
      outcome: 'ok',
      durationMs: 1,
    });
    for (const [decision, outcome, ms] of [
      ['allow', 'ok', 3],
      ['deny', 'denied', 0.2],
      ['governed', 'ok', 42_000],
      ['error', 'error', 15],
    ] as const) {
      m.observeOperation({
        tenant: 'acme',
        server: 'everything',
        method: 'tools/call',
        tool: 'echo',
        decision,
        outcome,
        durationMs: ms,
      });
    }
    m.rateLimitHits.inc({
      tenant: 'acme',
      server: 'everything',
      tool: 'echo',
      policy: 'research "rate" limit',
      enforcement: 'hard',
    });
    m.piiDetections.inc(
      { tenant: 'acme', server: 'everything', tool: 'echo', kind: 'email', where: 'arguments', action: 'redact' },
      2,
    );
    m.pendingApprovals.inc({ tenant: 'acme', server: 'everything' });
    m.observeQuota('acme', 'api_calls', 4200, 10_000);
    m.observeQuota('acme', 'storage_gb', 1, 0); // no limit: not a ratio, not recorded
    m.auditWriteSeconds.observe(0.0021);
    m.policyReloads.inc({ result: 'failed' });
    m.alerts.inc({ kind: 'rate_limit' });

    const text = await m.exposition();
    const check = promtool(text);
    expect(check.out).toBe('');
    expect(check.status).toBe(0);
    expect(text).toContain('# TYPE atom_gov_call_duration_seconds histogram');
    expect(text).toContain(
      'atom_gov_call_duration_seconds_bucket{le="60",tenant="acme",server="everything",tool="echo",decision="governed"} 1',
    );
    expect(text).toContain(
      'atom_gov_calls_total{tenant="acme",server="everything",tool="",method="tools/list",decision="allow",outcome="ok"} 1',
    );
    expect(text).toContain('atom_gov_upstream_up{server="everything"} 0'); // the last forward failed
    expect(text).toContain('atom_gov_upstream_errors_total{server="everything"} 1');
    expect(text).toContain('atom_gov_sessions_open 3');
    expect(text).toContain('atom_gov_quota_usage_ratio{tenant="acme",resource="api_calls"} 0.42');
    expect(text).not.toContain('resource="storage_gb"');
    expect(text).toContain(`atom_gov_policy_info{version="${'b'.repeat(64)}"} 1`);
    expect(text).not.toContain(`version="${'a'.repeat(64)}"`);
    expect(text).toContain('policy="research \\"rate\\" limit"');
    expect(text).toContain('atom_gov_policy_reloads_total{result="failed"} 1');
    expect(text).toContain('atom_gov_process_cpu_seconds_total');
    expect(text).not.toMatch(/\buser="/);
  });

  it('promtool rejects a broken exposition (the check is real)', () => {
    expect(promtool('# TYPE x counter\nx{a="1" 1\n').status).not.toBe(0);
  });
});

describe('CallTracer', () => {
  it('records one span per request with tenant/server/tool/decision and the workflow id of a governed call', async () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new CallTracer({ exporter, batch: false });
    const start = new Date('2026-11-25T01:00:00.000Z');
    tracer.record({
      start,
      tenant: 'acme',
      server: 'cloudflare_mcp',
      method: 'tools/call',
      tool: 'workers.deploy',
      decision: 'governed',
      outcome: 'ok',
      durationMs: 1500,
      operationId: 'op-0123456789abcdef',
      policy: 'production_deployment',
    });
    tracer.record({
      start,
      tenant: 'acme',
      server: 'everything',
      method: 'tools/call',
      tool: 'echo',
      decision: 'error',
      outcome: 'error',
      durationMs: 2,
      errorMessage: 'upstream closed',
    });
    const [governed, failed] = exporter.getFinishedSpans();
    expect(governed?.name).toBe('tools/call cloudflare_mcp');
    expect(governed?.attributes).toMatchObject({
      'atom_gov.tenant': 'acme',
      'atom_gov.server': 'cloudflare_mcp',
      'atom_gov.tool': 'workers.deploy',
      'atom_gov.decision': 'governed',
      'atom_gov.policy': 'production_deployment',
      [WORKFLOW_ID_ATTRIBUTE]: 'op-0123456789abcdef',
    });
    expect(governed?.attributes).not.toHaveProperty('atom_gov.user');
    // Timed from the record: 1.5 s long, starting when the request arrived.
    expect(governed?.startTime).toEqual([Math.floor(start.getTime() / 1000), 0]);
    expect(governed?.duration).toEqual([1, 500_000_000]);
    expect(failed?.status).toEqual({ code: 2, message: 'upstream closed' });
    expect(failed?.attributes).not.toHaveProperty(WORKFLOW_ID_ATTRIBUTE);
    await tracer.shutdown();
  });

  it('within(): work runs inside the call span (active across awaits, injected as traceparent); record() ends it', async () => {
    enableTracePropagation();
    const exporter = new InMemorySpanExporter();
    const tracer = new CallTracer({ exporter, batch: false });
    let activeId: string | undefined;
    const carrier: Record<string, string> = {};
    const result = await tracer.within('op-7', { server: 'cloudflare_mcp', method: 'tools/call' }, async () => {
      await tick();
      activeId = trace.getActiveSpan()?.spanContext().spanId;
      propagation.inject(context.active(), carrier);
      return 'forwarded';
    });
    expect(result).toBe('forwarded');
    expect(exporter.getFinishedSpans()).toHaveLength(0); // open until the call's record
    tracer.record({
      start: new Date(),
      tenant: 'acme',
      server: 'cloudflare_mcp',
      method: 'tools/call',
      tool: 'workers.deploy',
      decision: 'governed',
      outcome: 'ok',
      durationMs: 5,
      operationId: 'op-7',
    });
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.spanContext().spanId).toBe(activeId);
    expect(spans[0]?.attributes).toMatchObject({ 'atom_gov.decision': 'governed', [WORKFLOW_ID_ATTRIBUTE]: 'op-7' });
    expect(carrier.traceparent).toBe(`00-${spans[0]?.spanContext().traceId}-${activeId}-01`);
    await tracer.shutdown();
  });

  it('without an exporter uses the global API: nothing recorded, nothing thrown', () => {
    const tracer = new CallTracer();
    expect(() =>
      tracer.record({
        start: new Date(),
        tenant: 't',
        server: 's',
        method: 'tools/call',
        decision: 'allow',
        outcome: 'ok',
        durationMs: 1,
      }),
    ).not.toThrow();
  });
});
