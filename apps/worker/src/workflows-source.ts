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
  // @noble/hashes (opaqueUserRef in the operation's state) builds its SHA-2 tables at module load, BigInt constants
  // included: most of a quota-only operation's module evaluation in the sandbox. Preloaded through a contracts module
  // that re-exports it (see libs/contracts/src/workflow-preload.ts).
  const contractsDir = fromSources
    ? join(repoRoot, 'libs', 'contracts', 'src')
    : dirname(require.resolve('@atom-gov/contracts'));
  const preload = join(contractsDir, fromSources ? 'workflow-preload.ts' : 'workflow-preload.js');
  return { workflowsPath, webpackConfigHook, fromSources, preloadModules: existsSync(preload) ? [preload] : [] };
}
