// Policy-as-code in the gateway: the running policy (hot-reloaded) and the MCP interceptor built on it.
// Global, so the MCP module receives the interceptor (MCP_INTERCEPTOR) and /healthz the policy status.
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { createMetrics } from '@atom-gov/metrics';
import { MCP_INTERCEPTOR, MCP_SERVER_DEFINITIONS, OPERATION_OBSERVER } from '../mcp/mcp.service.js';
import { GOV_METRICS } from './governance-metrics.js';
import { GovernanceTelemetry } from './governance-telemetry.service.js';
import { MetricsController } from './metrics.controller.js';
import { GOVERNANCE_OPTIONS, type GovernanceOptions } from './governance.options.js';
import { GOVERNED_RUNNER, GovernanceInterceptor } from './governance.interceptor.js';
import { PolicyHolder } from './policy-holder.service.js';
import { ServerDefinitions } from './server-definitions.service.js';
import { TemporalGovernedRunner } from './temporal-governed.runner.js';

@Global()
@Module({})
export class GovernanceModule {
  static forRoot(options: GovernanceOptions): DynamicModule {
    return {
      module: GovernanceModule,
      controllers: [MetricsController],
      providers: [
        { provide: GOVERNANCE_OPTIONS, useValue: options },
        // One registry per gateway (tests start several in one process).
        { provide: GOV_METRICS, useFactory: () => options.metrics ?? createMetrics() },
        GovernanceTelemetry,
        { provide: OPERATION_OBSERVER, useExisting: GovernanceTelemetry },
        ServerDefinitions,
        { provide: MCP_SERVER_DEFINITIONS, useExisting: ServerDefinitions },
        PolicyHolder,
        TemporalGovernedRunner,
        // Governed calls run inside their OpenTelemetry span (their workflow shares the trace).
        {
          provide: GOVERNED_RUNNER,
          useFactory: (runner: TemporalGovernedRunner, telemetry: GovernanceTelemetry) =>
            telemetry.traceGoverned(runner),
          inject: [TemporalGovernedRunner, GovernanceTelemetry],
        },
        GovernanceInterceptor,
        { provide: MCP_INTERCEPTOR, useExisting: GovernanceInterceptor },
      ],
      exports: [
        PolicyHolder,
        GovernanceInterceptor,
        MCP_INTERCEPTOR,
        OPERATION_OBSERVER,
        GOV_METRICS,
        MCP_SERVER_DEFINITIONS,
      ],
    };
  }
}
