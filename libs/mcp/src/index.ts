export {
  AGGREGATE_COLLISION,
  AGGREGATE_SEPARATOR,
  AGGREGATE_SERVER,
  AggregateSession,
  unionCapabilities,
  type AggregateSessionOptions,
} from './aggregate-session.js';
export { DownstreamSession, POLICY_DENIED, type SessionOptions, type SessionRelay } from './downstream-session.js';
export {
  ALLOW,
  allowAllInterceptor,
  type AggregateCollision,
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
