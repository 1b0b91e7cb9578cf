// The MCP endpoints of the gateway; the root module imports McpModule.forRoot({ config, audit }).
import { Module, type DynamicModule } from '@nestjs/common';
import { McpController } from './mcp.controller.js';
import { MCP_MODULE_OPTIONS, McpService, type McpModuleOptions } from './mcp.service.js';

@Module({})
export class McpModule {
  static forRoot(options: McpModuleOptions): DynamicModule {
    return {
      module: McpModule,
      controllers: [McpController],
      providers: [{ provide: MCP_MODULE_OPTIONS, useValue: options }, McpService],
      exports: [McpService],
    };
  }
}
