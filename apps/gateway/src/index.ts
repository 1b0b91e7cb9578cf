export { GatewayModule } from './gateway.module.js';
export { GATEWAY_OPTIONS, type GatewayOptions } from './gateway.options.js';
export { startGateway, type RunningGateway, type StartGatewayOptions } from './gateway.js';
export { HealthService, type HealthReport, type PartHealth, type PartName } from './health/health.service.js';
export { TemporalClientService } from './temporal/temporal-client.service.js';
export { GOV_METRICS } from './governance/governance-metrics.js';
export { GOVERNED_RUNNER, type GovernedRunner } from './governance/governance.interceptor.js';
export { PolicyHolder, type PolicyStatus } from './governance/policy-holder.service.js';
