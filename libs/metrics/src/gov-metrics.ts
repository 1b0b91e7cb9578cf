// The gateway's Prometheus metrics, on a Registry of their own (never prom-client's global default registry, so
// two gateways in one process, or tests, never share or collide). Labels are tenant, server, tool and decision:
// never the user (unbounded cardinality, and personal data in a monitoring system).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  type AuditHealthView,
  type FeedResult,
  type PendingApprovalsSample,
  type QuotaUsageSample,
  ScrapeFeed,
  type ScrapeFeedOptions,
} from './scrape-feed.js';

export type DecisionLabel = 'allow' | 'deny' | 'governed' | 'error';

export interface OperationSample {
  tenant: string;
  server: string;
  /** MCP method (tools/call, resources/read, prompts/get, tools/list...). */
  method: string;
  /** Tool / prompt name or resource URI; empty for methods without a target. */
  tool?: string;
  decision: DecisionLabel;
  outcome: 'ok' | 'error' | 'denied' | 'timeout' | 'cancelled';
  durationMs: number;
}

export interface GovMetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop lag) as `atom_gov_process_*`; default true. */
  processMetrics?: boolean;
  /** Constant labels on every series (e.g. { instance: 'gw-1' }). */
  defaultLabels?: Record<string, string>;
}

/** Seconds; governed calls wait for humans, so the top buckets reach into minutes. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const AUDIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** A resource URI or a hostile name must not explode the label set: long values are cut. */
function label(value: string | undefined): string {
  if (value === undefined) return '';
  return value.length > 120 ? `${value.slice(0, 117)}...` : value;
}

export class GovMetrics {
  readonly registry: Registry;
  readonly calls: Counter<'tenant' | 'server' | 'tool' | 'method' | 'decision' | 'outcome'>;
  readonly callDuration: Histogram<'tenant' | 'server' | 'tool' | 'decision'>;
  readonly decisions: Counter<'tenant' | 'server' | 'tool' | 'decision'>;
  readonly wouldDeny: Counter<'tenant' | 'server' | 'tool' | 'policy'>;
  readonly rateLimitHits: Counter<'tenant' | 'server' | 'tool' | 'policy' | 'enforcement'>;
  readonly piiDetections: Counter<'tenant' | 'server' | 'tool' | 'kind' | 'where' | 'action'>;
  readonly pinBlocked: Counter<'server' | 'kind'>;
  readonly pendingApprovals: Gauge<'tenant' | 'server'>;
  readonly quotaUsage: Gauge<'tenant' | 'resource'>;
  readonly upstreamUp: Gauge<'server'>;
  readonly upstreamErrors: Counter<'server'>;
  readonly sessions: Gauge<never>;
  /** Set by the gateway: how many downstream sessions are open (read at scrape time). */
  sessionCount?: () => number;
  readonly auditWriteSeconds: Histogram<never>;
  readonly auditWriteFailures: Counter<never>;
  readonly policyReloads: Counter<'result'>;
  readonly policyInfo: Gauge<'version'>;
  readonly alerts: Counter<'kind' | 'result'>;
  /** Reads of a shared store at scrape time that failed or timed out (the metric it feeds is absent meanwhile). */
  readonly scrapeErrors: Counter<'source'>;
  /** Whether the last scrape-time read of a store answered (1) or not (0). */
  readonly scrapeSourceUp: Gauge<'source'>;
  readonly auditHealthy: Gauge<never>;
  readonly auditOldestPending: Gauge<never>;
  readonly auditQueued: Gauge<never>;
  readonly auditFailedBatches: Counter<never>;
  readonly auditCheckpointFailures: Counter<never>;
  readonly auditLastCheckpoint: Gauge<never>;
  readonly auditTrailFailures: Counter<never>;
  readonly auditSpooled: Gauge<never>;
  private policyVersion: string | undefined;
  private pendingFeed: ScrapeFeed<PendingApprovalsSample[]> | undefined;
  private quotaFeed: ScrapeFeed<QuotaUsageSample[]> | undefined;
  private auditHealth: (() => AuditHealthView | undefined) | undefined;

  constructor(opts: GovMetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
    const registers = [registry];
    this.calls = new Counter({
      name: 'atom_gov_calls_total',
      help: 'MCP requests through the gateway, by decision and outcome',
      labelNames: ['tenant', 'server', 'tool', 'method', 'decision', 'outcome'],
      registers,
    });
    this.callDuration = new Histogram({
      name: 'atom_gov_call_duration_seconds',
      help: 'Time from request to response for tools/call, resources/read and prompts/get (governed calls include the wait for approval)',
      labelNames: ['tenant', 'server', 'tool', 'decision'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.decisions = new Counter({
      name: 'atom_gov_policy_decisions_total',
      help: 'Policy decisions for operations (deny includes rate-limit and PII blocks)',
      labelNames: ['tenant', 'server', 'tool', 'decision'],
      registers,
    });
    this.wouldDeny = new Counter({
      name: 'atom_gov_policy_would_deny_total',
      help: 'Denials that shadow mode (enforcement soft/warn) turned into allows',
      labelNames: ['tenant', 'server', 'tool', 'policy'],
      registers,
    });
    this.rateLimitHits = new Counter({
      name: 'atom_gov_rate_limit_hits_total',
      help: 'Calls over a rate limit (enforcement hard: denied; soft/warn: allowed and recorded)',
      labelNames: ['tenant', 'server', 'tool', 'policy', 'enforcement'],
      registers,
    });
    this.piiDetections = new Counter({
      name: 'atom_gov_pii_detections_total',
      help: 'PII findings in arguments and results, by kind (values are never recorded)',
      labelNames: ['tenant', 'server', 'tool', 'kind', 'where', 'action'],
      registers,
    });
    this.pinBlocked = new Counter({
      name: 'atom_gov_pin_blocked_total',
      help: 'Changed or new tool/prompt/resource definitions and instructions blocked by pinning (recorded once each)',
      labelNames: ['server', 'kind'],
      registers,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect with the metric as this
    const self = this;
    this.pendingApprovals = new Gauge({
      name: 'atom_gov_pending_approvals',
      help: 'Governed operations waiting for approval (Temporal visibility, all gateways; absent while Temporal does not answer)',
      labelNames: ['tenant', 'server'],
      registers,
      // Without a feed (no Temporal), the in-process inc/dec of this gateway's own waiting calls stands.
      async collect() {
        const feed = self.pendingFeed;
        if (!feed) return;
        const r = await feed.get();
        this.reset();
        if (r.ok) for (const p of r.value) this.inc({ tenant: p.tenant, server: p.server }, p.count);
      },
    });
    this.quotaUsage = new Gauge({
      name: 'atom_gov_quota_usage_ratio',
      help: 'Quota used in the current period as a fraction of the limit (the fullest counter of the tenant for that resource, e.g. of per-user quotas; from the shared quota store)',
      labelNames: ['tenant', 'resource'],
      registers,
      async collect() {
        const feed = self.quotaFeed;
        if (!feed) return;
        const r = await feed.get();
        this.reset();
        if (!r.ok) return;
        const fullest = new Map<string, { tenant: string; resource: string; ratio: number }>();
        for (const q of r.value) {
          if (!(q.limit > 0) || !Number.isFinite(q.used)) continue;
          const key = JSON.stringify([q.tenant, q.resource]);
          const ratio = q.used / q.limit;
          const prev = fullest.get(key);
          if (!prev || ratio > prev.ratio) fullest.set(key, { tenant: q.tenant, resource: q.resource, ratio });
        }
        for (const f of fullest.values()) this.set({ tenant: f.tenant, resource: f.resource }, f.ratio);
      },
    });
    this.upstreamUp = new Gauge({
      name: 'atom_gov_upstream_up',
      help: 'Whether the last request forwarded to the upstream MCP server got an answer (1) or failed (0)',
      labelNames: ['server'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'atom_gov_upstream_errors_total',
      help: 'Forwarded requests that failed at the upstream (connection, protocol or timeout)',
      labelNames: ['server'],
      registers,
    });
    this.sessions = new Gauge({
      name: 'atom_gov_sessions_open',
      help: 'Open downstream MCP sessions (2025 revisions; 2026-07-28 requests are stateless)',
      registers,
      collect() {
        if (self.sessionCount) this.set(self.sessionCount());
      },
    });
    this.auditWriteSeconds = new Histogram({
      name: 'atom_gov_audit_write_lag_seconds',
      help: 'Time until an audit event was durable (group commit included); the response waits for it',
      buckets: AUDIT_BUCKETS,
      registers,
    });
    this.auditWriteFailures = new Counter({
      name: 'atom_gov_audit_write_failures_total',
      help: 'Audit appends that failed',
      registers,
    });
    this.policyReloads = new Counter({
      name: 'atom_gov_policy_reloads_total',
      help: 'Hot reloads of the config and policy files (failed: the running policy was kept)',
      labelNames: ['result'],
      registers,
    });
    this.policyInfo = new Gauge({
      name: 'atom_gov_policy_info',
      help: 'The running policy: config version (sha256) as a label, value 1',
      labelNames: ['version'],
      registers,
    });
    this.alerts = new Counter({
      name: 'atom_gov_alerts_total',
      help: 'Alerts raised on the fast path (before per-window deduplication)',
      labelNames: ['kind'],
      registers,
    });
    // prom-client reads the metrics concurrently: these two wait for the same (single-flight) reads of the feeds.
    this.scrapeErrors = new Counter({
      name: 'atom_gov_scrape_source_errors_total',
      help: 'Scrape-time reads of a shared store (temporal, quota_store) that failed or timed out',
      labelNames: ['source'],
      registers,
      async collect() {
        await self.readFeeds();
      },
    });
    this.scrapeSourceUp = new Gauge({
      name: 'atom_gov_scrape_source_up',
      help: 'Whether the last scrape-time read of a shared store (temporal, quota_store) answered',
      labelNames: ['source'],
      registers,
      async collect() {
        const [pending, quota] = await self.readFeeds();
        if (pending) this.set({ source: 'temporal' }, pending.ok ? 1 : 0);
        if (quota) this.set({ source: 'quota_store' }, quota.ok ? 1 : 0);
      },
    });
    // Registered by feedAuditHealth only: without an audit store there is nothing true to say (unlabelled
    // metrics always show a value).
    const health = (): AuditHealthView | undefined => self.auditHealth?.();
    this.auditHealthy = new Gauge({
      name: 'atom_gov_audit_healthy',
      help: 'Audit write path healthy (1) or not (0: a failing batch, checkpoint or trail-file write, or spooling)',
      registers: [],
      collect() {
        const h = health();
        if (h) this.set(h.ok ? 1 : 0);
      },
    });
    this.auditOldestPending = new Gauge({
      name: 'atom_gov_audit_oldest_pending_seconds',
      help: 'Age of the oldest audit event accepted and not yet durable (the writer lag now; 0 when idle)',
      registers: [],
      collect() {
        const h = health();
        if (h) this.set(h.writer.lagMs / 1000);
      },
    });
    this.auditQueued = new Gauge({
      name: 'atom_gov_audit_pending_events',
      help: 'Audit events queued or being written',
      registers: [],
      collect() {
        const h = health();
        if (h) this.set(h.writer.queued + h.writer.inFlight);
      },
    });
    // Counters whose totals the audit store keeps: set from the store at scrape time.
    const fromStore = (counter: Counter<never>, value: (h: AuditHealthView) => number | undefined): void => {
      const h = health();
      const v = h ? value(h) : undefined;
      if (v === undefined) return;
      counter.reset();
      counter.inc(v);
    };
    this.auditFailedBatches = new Counter({
      name: 'atom_gov_audit_failed_batches_total',
      help: 'Audit write transactions that failed since the store opened',
      registers: [],
      collect() {
        fromStore(this, (h) => h.writer.failedBatches);
      },
    });
    this.auditCheckpointFailures = new Counter({
      name: 'atom_gov_audit_checkpoint_failures_total',
      help: 'Signed checkpoint writes (database or mirror file) that failed since the store opened',
      registers: [],
      collect() {
        fromStore(this, (h) => (h.checkpoints.enabled ? h.checkpoints.failures : undefined));
      },
    });
    this.auditLastCheckpoint = new Gauge({
      name: 'atom_gov_audit_last_checkpoint_timestamp_seconds',
      help: 'When this process last wrote a signed audit checkpoint (Unix time)',
      registers: [],
      collect() {
        const at = health()?.checkpoints.lastAt;
        if (at !== undefined) this.set(Date.parse(at) / 1000);
      },
    });
    this.auditTrailFailures = new Counter({
      name: 'atom_gov_audit_trail_file_failures_total',
      help: 'Batches that could not be mirrored to the trail file since the store opened (they are in the database)',
      registers: [],
      collect() {
        fromStore(this, (h) => (h.trailFile.enabled ? h.trailFile.failures : undefined));
      },
    });
    this.auditSpooled = new Gauge({
      name: 'atom_gov_audit_spooled_events',
      help: 'Audit events in the local spool waiting for the database',
      registers: [],
      collect() {
        const h = health();
        if (h && h.spool.state !== 'off') this.set(h.spool.spooled);
      },
    });
    // Zero-valued series, so dashboards and `rate()` see the counters before the first event.
    this.policyReloads.inc({ result: 'ok' }, 0);
    this.policyReloads.inc({ result: 'failed' }, 0);
    this.auditWriteFailures.inc(0);
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: registry, prefix: 'atom_gov_' });
      // Gauges named *_total break Prometheus naming rules (promtool check metrics flags them): left out.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ])
        registry.removeSingleMetric(`atom_gov_${name}`);
    }
  }

  /** One finished MCP request (the gateway's operation record). */
  observeOperation(s: OperationSample): void {
    const tool = label(s.tool);
    this.calls.inc({
      tenant: s.tenant,
      server: s.server,
      tool,
      method: s.method,
      decision: s.decision,
      outcome: s.outcome,
    });
    if (s.method === 'tools/call' || s.method === 'resources/read' || s.method === 'prompts/get') {
      this.callDuration.observe(
        { tenant: s.tenant, server: s.server, tool, decision: s.decision },
        s.durationMs / 1000,
      );
    }
    if (s.decision === 'error') {
      this.upstreamErrors.inc({ server: s.server });
      this.upstreamUp.set({ server: s.server }, 0);
    } else if (s.decision !== 'deny' && s.outcome !== 'denied') {
      this.upstreamUp.set({ server: s.server }, 1);
    }
  }

  decision(tenant: string, server: string, tool: string | undefined, decision: DecisionLabel): void {
    this.decisions.inc({ tenant, server, tool: label(tool), decision });
  }

  /** Quota usage after a reservation or commit (the governed operation's quota state: used of limit). */
  observeQuota(tenant: string, resource: string, used: number, limit: number): void {
    if (limit > 0 && Number.isFinite(used)) this.quotaUsage.set({ tenant, resource }, used / limit);
  }

  /**
   * Pending approvals from a shared source (Temporal visibility) at scrape time: the same number from every gateway.
   * While the source fails the series are absent and atom_gov_scrape_source_errors_total{source} counts up.
   */
  feedPendingApprovals(read: () => Promise<PendingApprovalsSample[]>, opts?: ScrapeFeedOptions): void {
    this.pendingFeed = this.feed('temporal', read, opts);
  }

  /** Quota usage from the shared quota store at scrape time (absent while the store fails). */
  feedQuotaUsage(read: () => Promise<QuotaUsageSample[]>, opts?: ScrapeFeedOptions): void {
    this.quotaFeed = this.feed('quota_store', read, opts);
  }

  /** The audit store's health (in-process, cheap), read at each scrape. */
  feedAuditHealth(read: () => AuditHealthView | undefined): void {
    if (!this.auditHealth)
      for (const metric of [
        this.auditHealthy,
        this.auditOldestPending,
        this.auditQueued,
        this.auditFailedBatches,
        this.auditCheckpointFailures,
        this.auditLastCheckpoint,
        this.auditTrailFailures,
        this.auditSpooled,
      ])
        this.registry.registerMetric(metric);
    this.auditHealth = read;
  }

  private readFeeds(): Promise<[FeedResult<PendingApprovalsSample[]>?, FeedResult<QuotaUsageSample[]>?]> {
    return Promise.all([this.pendingFeed?.get(), this.quotaFeed?.get()]);
  }

  private feed<T>(source: string, read: () => Promise<T>, opts?: ScrapeFeedOptions): ScrapeFeed<T> {
    this.scrapeErrors.inc({ source }, 0);
    return new ScrapeFeed(read, () => this.scrapeErrors.inc({ source }), opts);
  }

  setPolicyVersion(version: string): void {
    if (this.policyVersion !== undefined) this.policyInfo.remove({ version: this.policyVersion });
    this.policyVersion = version;
    this.policyInfo.set({ version }, 1);
  }

  /** Text exposition format 0.0.4 (what Prometheus scrapes and node_exporter's textfile collector reads). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export function createMetrics(opts?: GovMetricsOptions): GovMetrics {
  return new GovMetrics(opts);
}

/** Exposed for the tool label of callers outside this file (same cut as the metrics use). */
export { label as metricLabel };
