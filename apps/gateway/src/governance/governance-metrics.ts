// The gateway's metrics (libs/metrics): one GovMetrics per gateway, on its own registry, injected where events
// happen (interceptor, policy holder, operation records) and exposed at GET /metrics.
export { GovMetrics } from '@atom-gov/metrics';

/** Injection token of the gateway's GovMetrics. */
export const GOV_METRICS = Symbol('GOV_METRICS');
