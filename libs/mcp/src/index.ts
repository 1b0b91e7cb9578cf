export { DownstreamSession, POLICY_DENIED, type SessionOptions } from './downstream-session.js';
export {
  ALLOW,
  allowAllInterceptor,
  type Decision,
  type Forward,
  type ForwardedRequest,
  type InitializeDecision,
  type InitializeInfo,
  type InterceptContext,
  type Interceptor,
  type ListKind,
  type McpResult,
  type OperationAnnotations,
  type OperationRecord,
  type OperationSink,
} from './interceptor.js';
export { freePort, LaunchedServer, type LaunchedServerOptions } from './launched-server.js';
export {
  McpGateway,
  SERVER_REMOVED,
  type HandleOptions,
  type McpGatewayOptions,
  type ServerUpdate,
} from './mcp-gateway.service.js';
export { StdioProcessTransport, type StdioProcessOptions } from './stdio-process.transport.js';
export { REQUEST_TIMEOUT, UpstreamHub, type HubSession, type OpenHubOptions } from './upstream-hub.js';
export {
  consoleLogger,
  silentLogger,
  type CallerIdentity,
  type LaunchConfig,
  type McpLogger,
  type UpstreamServerConfig,
} from './types.js';
export { BRIDGE_UNAVAILABLE, runStdioBridge, type StdioBridgeOptions } from './stdio-bridge.js';
export {
  GatewayCallError,
  GatewayClient,
  type GatewayClientOptions,
  type GatewayTool,
  type GatewayToolCallOptions,
} from './mcp-client.js';
