import type { AuditStore } from '@atom-gov/audit';
import type { AtomGovConfig, RuntimeOptions } from '@atom-gov/config';
import type { GovMetrics, SpanExporter } from '@atom-gov/metrics';
import type { AlertNotifier } from '@atom-gov/notify';

/** Injection token of the governance module's options. */
export const GOVERNANCE_OPTIONS = Symbol('GOVERNANCE_OPTIONS');

export interface GovernanceOptions {
  config: AtomGovConfig;
  audit?: AuditStore;
  /** How to re-load the config on change (default: the loaded config's path and data dir). */
  runtime?: RuntimeOptions;
  /** Watch the config and policy files for hot reload (default true). */
  watch?: boolean;
  /** Quiet period after the last file event before a reload (default 150 ms). */
  debounceMs?: number;
  /** Alert sender (default: one built from config.notifications; tests inject one with a short window). */
  alerts?: AlertNotifier;
  /** Metrics registry (default: a new one per gateway). */
  metrics?: GovMetrics;
  /**
   * One OpenTelemetry span per request goes here; absent: the global OpenTelemetry API (records only when the
   * process registered an SDK, e.g. the OpenTelemetry Node SDK preloaded through NODE_OPTIONS).
   */
  traceExporter?: SpanExporter;
}
