// Shapes libs/mcp consumes. `UpstreamServerConfig` is structurally the brief's `ServerConfig` from
// @atom-gov/config, so a loaded config's servers can be passed in as they are.

export interface LaunchConfig {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  port: number | 'auto';
}

export interface UpstreamServerConfig {
  name: string;
  transport: 'stdio' | 'streamable_http' | 'sse';
  command?: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  url?: string;
  headers: Record<string, string>;
  launch?: LaunchConfig;
  share: boolean;
  /** Serve this server to loopback callers only (the seed's `local_only`). */
  localOnly?: boolean;
  /** Directories to create before the server starts (e.g. a filesystem sandbox). */
  createDirs?: string[];
}

/** Who is calling: resolved by the gateway from an API key, or the configured anonymous identity. */
export interface CallerIdentity {
  tenant: string;
  user: string;
  roles: readonly string[];
}

export interface McpLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const consoleLogger: McpLogger = {
  info: (message, fields) => console.error(`[mcp] ${message}`, fields ?? ''),
  warn: (message, fields) => console.error(`[mcp] WARN ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`[mcp] ERROR ${message}`, fields ?? ''),
};

export const silentLogger: McpLogger = { info: () => {}, warn: () => {}, error: () => {} };
