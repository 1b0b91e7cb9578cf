// Hot reload of `servers:` entries: each successful config reload hands the new definitions to whoever listens
// (the MCP module calls McpGateway.updateServers), so an added server is served without a restart, a removed one
// ends its sessions, and a changed one serves new sessions with the new definition while open sessions finish on
// the upstream they have.
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { ServerConfig } from '@atom-gov/config';
import { PolicyHolder, type PolicyGeneration } from './policy-holder.service.js';

export type ServersListener = (servers: readonly ServerConfig[]) => void;

@Injectable()
export class ServerDefinitions implements OnModuleDestroy {
  private readonly logger = new Logger('Servers');
  private current: readonly ServerConfig[];
  private readonly listeners = new Set<ServersListener>();
  private readonly stop: () => void;

  constructor(@Inject(PolicyHolder) holder: PolicyHolder) {
    this.current = holder.current.config.servers;
    this.stop = holder.onSwap((gen) => this.apply(gen));
  }

  /** The definitions of the running generation. */
  get servers(): readonly ServerConfig[] {
    return this.current;
  }

  /** Called with the new definitions after each reload that changed them; returns an unsubscribe function. */
  onChange(listener: ServersListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(gen: PolicyGeneration): void {
    const next = gen.config.servers;
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (error) {
        this.logger.error(`applying the reloaded servers failed: ${(error as Error).message}`);
      }
    }
  }

  onModuleDestroy(): void {
    this.stop();
  }
}
