import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type WorkerOptions } from '@temporalio/worker';

type BundlerHook = NonNullable<NonNullable<WorkerOptions['bundlerOptions']>['webpackConfigHook']>;

export interface WorkflowsSource {
  /** Module exporting every workflow, for Worker.create({ workflowsPath }) / bundleWorkflowCode. */
  workflowsPath: string;
  /** Makes Temporal's bundler read @atom-gov/* workspaces from their sources when we run from sources. */
  webpackConfigHook: BundlerHook;
  fromSources: boolean;
  /**
   * Stateless modules evaluated once per workflow thread instead of once per workflow (bundlerOptions.preloadModules,
   * reusable V8 context): the workflow bundle's other modules run again for every new workflow.
   */
  preloadModules: string[];
}

/**
 * @noble/hashes (through @atom-gov/contracts: opaqueUserRef in the operation's state) builds its SHA-2 tables at
 * module load, BigInt constants included: that was most of each quota-only operation's module evaluation in the
 * sandbox. Pure functions and constants, nothing per workflow, so it may be shared.
 */
export const WORKFLOW_PRELOAD_MODULES: readonly string[] = Object.freeze(['@noble/hashes/sha2.js']);

/**
 * Where the workflow code is. From sources (Jest, ts) Temporal's bundler compiles the TypeScript itself and
 * must see the other workspaces' sources too (their dist/ may be stale or missing); from dist/ (the built CLI)
 * it bundles the compiled JavaScript, which resolves workspaces through their package exports.
 */
export function workflowsSource(fromSources = import.meta.url.endsWith('.ts')): WorkflowsSource {
  const require = createRequire(import.meta.url);
  const workflowsDir = dirname(require.resolve('@atom-gov/workflows/package.json'));
  const workflowsPath = fromSources ? join(workflowsDir, 'src', 'index.ts') : join(workflowsDir, 'dist', 'index.js');
  if (!existsSync(workflowsPath)) {
    throw new Error(`workflow code not found at ${workflowsPath}: run \`npm run build\` in the checkout first`);
  }
  const repoRoot = dirname(workflowsDir);
  const webpackConfigHook: BundlerHook = (config) => {
    if (!fromSources) return config;
    const alias: Record<string, string> = {};
    for (const name of ['contracts']) {
      const entry = join(repoRoot, 'libs', name, 'src', 'index.ts');
      if (existsSync(entry)) alias[`@atom-gov/${name}$`] = entry;
    }
    const resolve = config.resolve ?? {};
    const existing = resolve.alias && !Array.isArray(resolve.alias) ? resolve.alias : {};
    return { ...config, resolve: { ...resolve, alias: { ...existing, ...alias } } };
  };
  return { workflowsPath, webpackConfigHook, fromSources, preloadModules: [...WORKFLOW_PRELOAD_MODULES] };
}
