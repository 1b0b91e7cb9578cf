import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsSource } from './workflows-source.js';

// Temporal's bundler is the same one Worker.create uses: a workflow module that imports a Node built-in or
// an I/O library fails here, in the build, instead of at run time in the sandbox.
describe('workflow bundle', () => {
  it('bundles every workflow the worker registers', async () => {
    const source = workflowsSource();
    const { code } = await bundleWorkflowCode({
      workflowsPath: source.workflowsPath,
      webpackConfigHook: source.webpackConfigHook,
      logger: quietLogger,
    });
    expect(code).toContain('healthProbe');
  });

  it('preloads the stateless hash module once per workflow thread instead of evaluating it per workflow', async () => {
    const source = workflowsSource();
    const { code } = await bundleWorkflowCode({
      workflowsPath: source.workflowsPath,
      webpackConfigHook: source.webpackConfigHook,
      preloadModules: source.preloadModules,
      logger: quietLogger,
    });
    // webpack drops a require of a module it may treat as side-effect free: the preload must survive bundling.
    expect(code).toMatch(/preloadModules\(\) \{\s*__webpack_require__\([^)]*workflow-preload/);
  });

  it('rejects workflow code that imports a non-deterministic module', async () => {
    const bad = fileURLToPath(new URL('../test/fixtures/non-deterministic.workflow.ts', import.meta.url));
    const errors: string[] = [];
    const logger = { ...quietLogger, error: (message: string) => void errors.push(message) };
    await expect(bundleWorkflowCode({ workflowsPath: bad, logger })).rejects.toThrow();
    // The build error names the offending import and the workflow file that made it.
    expect(errors.join('\n')).toMatch(/node:fs[\s\S]*non-deterministic\.workflow\.ts/);
  });
});

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
