import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { createMetrics } from './gov-metrics.js';
import type { AuditHealthView, PendingApprovalsSample } from './scrape-feed.js';

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (apt-get install prometheus): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('scrape-time feeds', () => {
  it('pending approvals come from the source, replace the in-process count, and are cached between scrapes', async () => {
    const m = createMetrics({ processMetrics: false });
    m.pendingApprovals.inc({ tenant: 'acme', server: 'local-only' }); // this process's view: replaced by the source
    let now = 1_000_000;
    let reads = 0;
    let answer: PendingApprovalsSample[] = [
      { tenant: 'acme', server: 'cloudflare_mcp', count: 2 },
      { tenant: 'globex', server: 'cloudflare_mcp', count: 1 },
    ];
    m.feedPendingApprovals(
      async () => {
        reads += 1;
        return answer;
      },
      { cacheMs: 5_000, now: () => now },
    );
    // Two scrapes at once share one read (prom-client reads metrics concurrently, and so may two scrapers).
    const [text] = await Promise.all([m.exposition(), m.exposition()]);
    expect(reads).toBe(1);
    expect(text).toContain('atom_gov_pending_approvals{tenant="acme",server="cloudflare_mcp"} 2');
    expect(text).toContain('atom_gov_pending_approvals{tenant="globex",server="cloudflare_mcp"} 1');
    expect(text).not.toContain('server="local-only"');
    expect(text).toContain('atom_gov_scrape_source_up{source="temporal"} 1');
    expect(text).toContain('atom_gov_scrape_source_errors_total{source="temporal"} 0');
    const check = promtool(text);
    expect(check.out).toBe('');
    expect(check.status).toBe(0);

    answer = [{ tenant: 'acme', server: 'cloudflare_mcp', count: 1 }];
    now += 4_000; // within the cache: the same answer, no read
    expect(await m.exposition()).toContain('atom_gov_pending_approvals{tenant="acme",server="cloudflare_mcp"} 2');
    expect(reads).toBe(1);
    now += 2_000; // past it: read again; a series that went away is gone
    const later = await m.exposition();
    expect(reads).toBe(2);
    expect(later).toContain('atom_gov_pending_approvals{tenant="acme",server="cloudflare_mcp"} 1');
    expect(later).not.toContain('tenant="globex"');
  });

  it('an unreachable source leaves the series absent and counts the error; the scrape still succeeds', async () => {
    const m = createMetrics({ processMetrics: false });
    let now = 0;
    let fail = true;
    m.feedPendingApprovals(
      async () => {
        if (fail) throw new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:1');
        return [{ tenant: 'acme', server: 'files', count: 3 }];
      },
      { cacheMs: 1_000, now: () => now },
    );
    const down = await m.exposition();
    expect(down).not.toMatch(/^atom_gov_pending_approvals\{/m);
    expect(down).toContain('atom_gov_scrape_source_errors_total{source="temporal"} 1');
    expect(down).toContain('atom_gov_scrape_source_up{source="temporal"} 0');
    expect(promtool(down).status).toBe(0);
    // The failure is cached too: a scrape storm does not hammer a store that is down.
    expect(await m.exposition()).toContain('atom_gov_scrape_source_errors_total{source="temporal"} 1');
    fail = false;
    now += 1_000;
    const back = await m.exposition();
    expect(back).toContain('atom_gov_pending_approvals{tenant="acme",server="files"} 3');
    expect(back).toContain('atom_gov_scrape_source_up{source="temporal"} 1');
    expect(back).toContain('atom_gov_scrape_source_errors_total{source="temporal"} 1');
  });

  it('a source that hangs times out instead of holding the scrape', async () => {
    const m = createMetrics({ processMetrics: false });
    m.feedQuotaUsage(() => new Promise(() => {}), { timeoutMs: 50 });
    const started = performance.now();
    const text = await m.exposition();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(text).toContain('atom_gov_scrape_source_errors_total{source="quota_store"} 1');
    expect(text).not.toMatch(/^atom_gov_quota_usage_ratio\{/m);
  });

  it('quota usage: the fullest counter of a tenant and resource, counters without a limit left out', async () => {
    const m = createMetrics({ processMetrics: false });
    m.feedQuotaUsage(async () => [
      { tenant: 'acme', resource: 'api_calls', used: 10, limit: 100 }, // user A
      { tenant: 'acme', resource: 'api_calls', used: 75, limit: 100 }, // user B
      { tenant: 'acme', resource: 'compute_seconds', used: 30, limit: 3600 },
      { tenant: 'globex', resource: 'api_calls', used: 5, limit: 0 },
    ]);
    const text = await m.exposition();
    expect(text).toContain('atom_gov_quota_usage_ratio{tenant="acme",resource="api_calls"} 0.75');
    expect(text).toMatch(/^atom_gov_quota_usage_ratio\{tenant="acme",resource="compute_seconds"\} 0\.00833/m);
    expect(text).not.toContain('tenant="globex"');
    expect(text).toContain('atom_gov_scrape_source_up{source="quota_store"} 1');
  });

  it('without an audit store there are no audit health series (not a misleading 0)', async () => {
    const text = await createMetrics({ processMetrics: false }).exposition();
    expect(text).not.toContain('atom_gov_audit_healthy');
    expect(text).not.toContain('atom_gov_audit_checkpoint_failures_total');
  });

  it('audit health: lag, backlog, checkpoint and trail-file failures, spool, as promtool-valid series', async () => {
    const m = createMetrics({ processMetrics: false });
    let health: AuditHealthView = {
      ok: false,
      writer: { queued: 3, inFlight: 2, lagMs: 1250, failedBatches: 0 },
      checkpoints: { enabled: true, lastAt: '2026-11-25T04:00:00.000Z', failures: 2 },
      trailFile: { enabled: true, failures: 1 },
      spool: { state: 'off', spooled: 0 },
    };
    m.feedAuditHealth(() => health);
    const text = await m.exposition();
    expect(text).toContain('atom_gov_audit_healthy 0');
    expect(text).toContain('atom_gov_audit_oldest_pending_seconds 1.25');
    expect(text).toContain('atom_gov_audit_pending_events 5');
    expect(text).toContain('atom_gov_audit_checkpoint_failures_total 2');
    expect(text).toContain('atom_gov_audit_trail_file_failures_total 1');
    expect(text).toContain('atom_gov_audit_failed_batches_total 0');
    expect(text).toContain(
      `atom_gov_audit_last_checkpoint_timestamp_seconds ${Date.parse(health.checkpoints.lastAt!) / 1000}`,
    );
    expect(text).toContain('atom_gov_audit_spooled_events 0'); // no spool configured: nothing spooled
    const check = promtool(text);
    expect(check.out).toBe('');
    expect(check.status).toBe(0);
    health = { ...health, ok: true, checkpoints: { ...health.checkpoints, failures: 3 } };
    const again = await m.exposition();
    expect(again).toContain('atom_gov_audit_healthy 1');
    expect(again).toContain('atom_gov_audit_checkpoint_failures_total 3');
  });
});
