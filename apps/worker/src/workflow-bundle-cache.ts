import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { type WorkflowsSource } from './workflows-source.js';

/**
 * Bundling the workflow code takes webpack 5-20 s on a small machine, on every start. From dist/ the inputs
 * only change with a build or an upgrade, so the bundle is cached under a hash of everything that can end up in
 * it: the workflows' and libraries' compiled files and the Temporal SDK versions.
 */
export async function cachedWorkflowBundle(source: WorkflowsSource, cacheDir: string): Promise<{ codePath: string }> {
  const codePath = join(cacheDir, `workflow-bundle-${bundleInputsHash(source)}.js`);
  if (existsSync(codePath)) return { codePath };
  const { code } = await bundleWorkflowCode({
    workflowsPath: source.workflowsPath,
    webpackConfigHook: source.webpackConfigHook,
    preloadModules: source.preloadModules,
  });
  await mkdir(cacheDir, { recursive: true });
  // Write then rename: a concurrent start or a crash never leaves a half-written bundle under the final name.
  const tmp = `${codePath}.${process.pid}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, codePath);
  // Bundles of earlier builds are never used again.
  for (const old of readdirSync(cacheDir)) {
    if (/^workflow-bundle-[0-9a-f]+\.js$/.test(old) && old !== basename(codePath)) {
      await rm(join(cacheDir, old), { force: true });
    }
  }
  return { codePath };
}

function bundleInputsHash(source: WorkflowsSource): string {
  const hash = createHash('sha256');
  const workflowsDir = dirname(dirname(source.workflowsPath));
  const repoRoot = dirname(workflowsDir);
  const libs = existsSync(join(repoRoot, 'libs'))
    ? readdirSync(join(repoRoot, 'libs')).map((l) => join(repoRoot, 'libs', l, 'dist'))
    : [];
  for (const dir of [join(workflowsDir, 'dist'), ...libs.sort()]) hashTree(hash, dir);
  // The preload list changes the bundle's entry point.
  hash.update(`preload:${source.preloadModules.join(',')}\n`);
  const require = createRequire(import.meta.url);
  for (const pkg of ['@temporalio/workflow', '@temporalio/common', '@temporalio/worker']) {
    const { version } = JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string };
    hash.update(`${pkg}@${version}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

function hashTree(hash: ReturnType<typeof createHash>, dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, path);
    else if (entry.name.endsWith('.js')) hash.update(path).update(readFileSync(path));
  }
}
