import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ApprovalsModule } from './approvals/approvals.module.js';
import { HealthController } from './health/health.controller.js';
import { HealthService } from './health/health.service.js';
import { GATEWAY_OPTIONS, type GatewayOptions } from './gateway.options.js';
import { GovernanceModule } from './governance/governance.module.js';
import { McpModule } from './mcp/mcp.module.js';
import { TemporalClientService } from './temporal/temporal-client.service.js';

/** The gateway's root module. Feature modules are listed in featureModules() below. */
@Global()
@Module({})
export class GatewayModule {
  static forRoot(options: GatewayOptions): DynamicModule {
    return {
      module: GatewayModule,
      imports: featureModules(options),
      controllers: [HealthController],
      providers: [{ provide: GATEWAY_OPTIONS, useValue: options }, TemporalClientService, HealthService],
      exports: [GATEWAY_OPTIONS, TemporalClientService],
    };
  }
}

// ---- Feature modules: each owner adds its module here (one line each). -------------------------------
// GATEWAY_OPTIONS and TemporalClientService are global: feature modules can inject them.
function featureModules({ config, audit }: GatewayOptions): DynamicModule[] {
  return [
    McpModule.forRoot({ config, audit }), // owner: MCP helper (apps/gateway/src/mcp)
    GovernanceModule.forRoot({ config, audit }), // owner: governance helper (apps/gateway/src/governance)
    ApprovalsModule.forRoot({ config }), // owner: channels helper (apps/gateway/src/approvals)
  ];
}
