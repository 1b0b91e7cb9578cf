// Owns the McpGateway for the configured servers and turns each operation record into a durable audit event.
import { Inject, Injectable, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import type { AtomGovConfig, ServerConfig } from '@atom-gov/config';
import type { AuditStore } from '@atom-gov/audit';
import { McpGateway, type Interceptor, type McpLogger, type OperationRecord } from '@atom-gov/mcp';

export const MCP_MODULE_OPTIONS = Symbol('MCP_MODULE_OPTIONS');
/** The interceptor another module provides (the governance module: policy, limits, PII); default allow-all. */
export const MCP_INTERCEPTOR = Symbol('MCP_INTERCEPTOR');
/** Metrics and tracing of every operation record (the governance module provides it; optional). */
export const OPERATION_OBSERVER = Symbol('OPERATION_OBSERVER');

/** Hot-reloadable server definitions (the governance module provides them; default: the config's, fixed). */
export const MCP_SERVER_DEFINITIONS = Symbol('MCP_SERVER_DEFINITIONS');

export interface ServerDefinitionSource {
  readonly servers: readonly ServerConfig[];
  /** Called with the new definitions after a reload that changed them; returns an unsubscribe function. */
  onChange?(listener: (servers: readonly ServerConfig[]) => void): () => void;
}

export interface OperationObserver {
  gatewayStarted(gateway: McpGateway): void;
  operation(record: OperationRecord): void;
  /** Runs the audit append, timing it (audit write lag) and counting failures. */
  audited<T>(append: () => Promise<T>): Promise<T>;
}

export interface McpModuleOptions {
  config: AtomGovConfig;
  audit: AuditStore;
  /** Policy/Temporal interception (issues 4 and 5); default: allow everything. */
  interceptor?: Interceptor;
  logger?: McpLogger;
  idleTimeoutMs?: number;
}

const gatewayLogger: McpLogger = {
  info: (m) => process.stderr.write(`[mcp] ${m}\n`),
  warn: (m) => process.stderr.write(`[mcp] WARN ${m}\n`),
  error: (m) => process.stderr.write(`[mcp] ERROR ${m}\n`),
};

@Injectable()
export class McpService implements BeforeApplicationShutdown {
  readonly gateway: McpGateway;
  private readonly unsubscribe?: () => void;

  constructor(
    @Inject(MCP_MODULE_OPTIONS) readonly options: McpModuleOptions,
    @Optional() @Inject(MCP_INTERCEPTOR) injected?: Interceptor,
    @Optional() @Inject(OPERATION_OBSERVER) observer?: OperationObserver,
    @Optional() @Inject(MCP_SERVER_DEFINITIONS) definitions?: ServerDefinitionSource,
  ) {
    const { config, audit } = options;
    const servers = definitions?.servers ?? config.servers;
    let auditLevel = new Map(servers.map((s) => [s.name, s.auditLevel]));
    const logger = options.logger ?? gatewayLogger;
    this.gateway = new McpGateway({
      servers,
      interceptor: options.interceptor ?? injected,
      logger,
      idleTimeoutMs: options.idleTimeoutMs,
      maxBodyBytes: config.gateway.maxBodyBytes,
      allowedHosts: config.gateway.allowedHosts,
      allowedOrigins: config.gateway.allowedOrigins,
      aggregate: config.gateway.aggregate,
      onOperation: async (record) => {
        observer?.operation(record);
        if (!config.global.audit) return;
        // Governed records carry their audit level (none: recorded without argument/result summaries).
        if (!record.annotations && auditLevel.get(record.server) === 'none') return;
        const event = toAuditEvent(record, config.version);
        await (observer ? observer.audited(() => audit.append(event)) : audit.append(event));
      },
    });
    observer?.gatewayStarted(this.gateway);
    // Hot reload: added servers are served, removed ones end their sessions, changed ones serve new sessions.
    this.unsubscribe = definitions?.onChange?.((next) => {
      auditLevel = new Map(next.map((s) => [s.name, s.auditLevel]));
      this.gateway.updateServers(next).settled.catch((error: unknown) => {
        logger.error(`retiring reloaded servers failed: ${(error as Error).message}`);
      });
    });
  }

  // Before Nest closes the HTTP server: open session streams would otherwise keep it from closing.
  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.gateway.close();
  }
}

export function toAuditEvent(r: OperationRecord, configVersion: string) {
  const notes = [...(r.annotations?.notes ?? [])];
  if (r.endpoint === 'aggregate') notes.push(`via aggregate endpoint /mcp${r.exposedAs ? ` as ${r.exposedAs}` : ''}`);
  return {
    time: r.time,
    tenant: r.tenant,
    user: r.user,
    sessionId: r.sessionId,
    server: r.server,
    method: r.method,
    target: r.target,
    decision: r.decision,
    policy: r.policy,
    rules: r.rules,
    configVersion: r.annotations?.configVersion ?? configVersion,
    outcome: r.outcome,
    errorMessage: r.errorMessage,
    // Shadow-mode would-be denials, soft limit hits and PII findings (kinds only); the aggregate endpoint's name.
    ...(notes.length ? { notes } : {}),
    argsSummary: r.annotations?.argsSummary,
    resultSummary: r.annotations?.resultSummary,
    durationMs: Math.round(r.durationMs * 1000) / 1000,
    requestBytes: r.requestBytes,
    responseBytes: r.responseBytes,
    operationId: r.operationId,
  };
}
