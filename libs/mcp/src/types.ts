// Shapes libs/mcp consumes. Upstream settings are the config's own `ServerConfig` (one definition), with the
// fields libs/mcp does not need to start a server left optional so tests and tools can pass small literals.
import type { LaunchConfig, ServerConfig } from '@atom-gov/config';

export type { LaunchConfig };

export type UpstreamServerConfig = Pick<ServerConfig, 'name' | 'transport' | 'args' | 'env' | 'headers' | 'share'> &
  Partial<Pick<ServerConfig, 'command' | 'cwd' | 'url' | 'launch' | 'localOnly' | 'createDirs'>>;

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
