// Holds the running policy (config + compiled engine) and hot-reloads it: the config file and every policy file
// are watched; a change is validated (loadConfig), compiled and swapped in atomically. An invalid change keeps the
// running policy and is reported in the log, in /healthz (`policy` section) and in the reload counters.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { loadConfig, type AtomGovConfig, type RuntimeOptions } from '@atom-gov/config';
import { compilePolicy, type PolicyEngine } from '@atom-gov/policy';
import { selfTest } from '@atom-gov/pii';
import { GOVERNANCE_OPTIONS, type GovernanceOptions } from './governance.options.js';
import { GOV_METRICS, type GovMetrics } from './governance-metrics.js';

/** One immutable generation of the policy: a call keeps the generation it started with until it finishes. */
export interface PolicyGeneration {
  readonly config: AtomGovConfig;
  readonly engine: PolicyEngine;
  readonly loadedAt: Date;
}

export interface PolicyStatus {
  version: string;
  loadedAt: string;
  files: string[];
  reloads: number;
  failedReloads: number;
  /** The last failed reload (cleared by the next successful one). */
  lastError?: { message: string; at: string };
}

const DEFAULT_DEBOUNCE_MS = 150;

/** Every PII recognizer any rule enables must mask its own sample, or the gateway must not start. */
export function checkPiiSelfTest(engine: PolicyEngine): void {
  const kinds = new Set<string>();
  for (const r of engine.rules) if (r.pii?.enabled) for (const k of r.pii.patterns) kinds.add(k);
  if (kinds.size === 0) return;
  const failures = selfTest([...kinds]);
  if (failures.length > 0) {
    throw new Error(
      `PII self-test failed, refusing to start: ${failures.map((f) => `${f.kind}: ${f.reason}`).join('; ')} ` +
        '(fix or remove these patterns in pii_detection.patterns)',
    );
  }
}

@Injectable()
export class PolicyHolder implements OnModuleDestroy {
  private readonly logger = new Logger('Policy');
  private gen: PolicyGeneration;
  private watchers: FSWatcher[] = [];
  private watchedDirs = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private again = false;
  private lastError: PolicyStatus['lastError'];
  private reloads = 0;
  private failedReloads = 0;
  private readonly runtime: RuntimeOptions;
  private readonly listeners = new Set<(gen: PolicyGeneration) => void>();

  constructor(
    @Inject(GOVERNANCE_OPTIONS) private readonly options: GovernanceOptions,
    @Inject(GOV_METRICS) private readonly metrics: GovMetrics,
  ) {
    const { config } = options;
    const engine = compilePolicy(config);
    checkPiiSelfTest(engine);
    this.gen = Object.freeze({ config, engine, loadedAt: new Date() });
    this.runtime = options.runtime ?? { configPath: config.configPath, dataDir: config.dataDir };
    metrics.setPolicyVersion(config.version);
    if (options.watch !== false) this.watchFiles(config);
  }

  /** The current generation (read once per call, so the call finishes on the engine it started with). */
  get current(): PolicyGeneration {
    return this.gen;
  }

  status(): PolicyStatus {
    return {
      version: this.gen.config.version,
      loadedAt: this.gen.loadedAt.toISOString(),
      files: this.gen.config.files,
      reloads: this.reloads,
      failedReloads: this.failedReloads,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  onSwap(listener: (gen: PolicyGeneration) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reloads now (the watcher calls this after its debounce); concurrent calls coalesce into one more run. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    try {
      const config = await loadConfig(this.runtime);
      if (config.version === this.gen.config.version) {
        this.lastError = undefined;
        return;
      }
      const engine = compilePolicy(config);
      checkPiiSelfTest(engine);
      // One assignment: every call that reads `current` from now on sees the whole new generation.
      this.gen = Object.freeze({ config, engine, loadedAt: new Date() });
      this.reloads++;
      this.lastError = undefined;
      this.metrics.policyReloads.inc({ result: 'ok' });
      this.metrics.setPolicyVersion(config.version);
      this.logger.log(`policy reloaded: version ${config.version.slice(0, 12)} (${config.files.length} files)`);
      this.watchFiles(config); // policy_files globs may now match other files / directories
      for (const l of this.listeners) l(this.gen);
    } catch (error) {
      this.failedReloads++;
      this.metrics.policyReloads.inc({ result: 'failed' });
      const message = (error as Error).message;
      this.lastError = { message, at: new Date().toISOString() };
      this.logger.error(`policy reload failed, keeping version ${this.gen.config.version.slice(0, 12)}: ${message}`);
    }
  }

  /**
   * Watches directories, not files: editors and `mv` replace files (a new inode), which a file watch misses.
   * Directories of the config and of every included file; new files matching a glob are picked up on reload.
   */
  private watchFiles(config: AtomGovConfig): void {
    const dirs = new Set([dirname(config.configPath), ...config.files.map((f) => dirname(f))]);
    for (const dir of dirs) {
      if (this.watchedDirs.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => {
          if (file && !/\.(ya?ml|json)$/i.test(file.toString())) return;
          // The pin lock file (JSON, often beside the config) is the gateway's own state, not configuration.
          if (file && dir === dirname(config.pinning.lockFile) && file.toString() === basename(config.pinning.lockFile))
            return;
          this.schedule();
        });
        w.on('error', (e) => this.logger.warn(`cannot watch ${dir}: ${e.message}`));
        this.watchers.push(w);
        this.watchedDirs.add(dir);
      } catch (error) {
        this.logger.warn(`cannot watch ${dir}: ${(error as Error).message}; hot reload misses changes there`);
      }
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.reloading;
  }
}
