// Hot reload of `servers:` entries. The MCP gateway opens every upstream from the definition object it was given
// (command, args, env, cwd, url, headers are read when a session opens its upstream), so the gateway is given
// mutable copies owned here, and a reload rewrites a changed copy in place: new sessions start the new command or
// reach the new URL, while open sessions keep the upstream they already have until they end. Adding or removing
// a server, and changing a gateway-launched (`launch:`) or shared (`share: true`) server's running upstream, still
// need a restart (the gateway keeps those per name); the log says so.
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { ServerConfig } from '@atom-gov/config';
import { PolicyHolder, type PolicyGeneration } from './policy-holder.service.js';

@Injectable()
export class ServerDefinitions implements OnModuleDestroy {
  private readonly logger = new Logger('Servers');
  /** What the MCP gateway holds: one mutable copy per configured server. */
  readonly servers: ServerConfig[];
  private readonly byName = new Map<string, ServerConfig>();
  private readonly stop: () => void;
  /** How many times a changed definition was swapped in (tests and logs). */
  swaps = 0;

  constructor(@Inject(PolicyHolder) holder: PolicyHolder) {
    this.servers = holder.current.config.servers.map((s) => structuredClone(s) as ServerConfig);
    for (const s of this.servers) this.byName.set(s.name, s);
    this.stop = holder.onSwap((gen) => this.apply(gen));
  }

  private apply(gen: PolicyGeneration): void {
    const next = new Map(gen.config.servers.map((s) => [s.name, s]));
    for (const [name, live] of this.byName) {
      const def = next.get(name);
      if (!def) {
        this.logger.warn(`server '${name}' was removed from the configuration: it stays served until a restart`);
        continue;
      }
      if (JSON.stringify(def) === JSON.stringify(live)) continue;
      const needsRestart = live.launch !== undefined || def.launch !== undefined || live.share;
      // One synchronous rewrite: a session opening its upstream sees either the old or the new definition.
      const copy = structuredClone(def) as unknown as Record<string, unknown>;
      const target = live as unknown as Record<string, unknown>;
      for (const key of Object.keys(target)) if (!(key in copy)) delete target[key];
      Object.assign(target, copy);
      this.swaps++;
      this.logger.log(
        `server '${name}' definition changed: new sessions use it, open sessions keep their upstream` +
          (needsRestart ? ' (a launched or shared upstream that is running keeps the old one until a restart)' : ''),
      );
    }
    for (const name of next.keys())
      if (!this.byName.has(name)) this.logger.warn(`server '${name}' was added: it is served after a restart`);
  }

  onModuleDestroy(): void {
    this.stop();
  }
}
