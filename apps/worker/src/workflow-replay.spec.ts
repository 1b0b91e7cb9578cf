// Determinism guard over recorded histories: every history in test/fixtures/histories must replay with today's
// workflow code. Recorded on the real dev server (History.encode of fetchHistory()); the prefix names the workflow
// path that wrote it: v1 = eager quota-only with a reservation and an outcome signal (and the approval path) as of
// cbd43f2; v2 = delayed-start eager path, settled by one settleOperation local activity. Runs in flight when a worker
// is upgraded are replayed exactly like this, so a change that breaks one of these needs `patched()` (or an input
// flag, as `delayedStart` does) instead of a new recording.
import { describe, expect, it, beforeAll } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { workflowsSource } from './workflows-source.js';

const dir = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.binpb'));
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  const source = workflowsSource();
  const noop = () => undefined;
  bundle = await bundleWorkflowCode({
    workflowsPath: source.workflowsPath,
    webpackConfigHook: source.webpackConfigHook,
    preloadModules: source.preloadModules,
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop },
  });
}, 120_000);

describe('recorded governed-operation histories replay with the current workflow code', () => {
  it('has the recorded histories (previous two-signal eager path, approval with quota, delayed-start eager path)', () => {
    expect(files.some((f) => f.includes('two-signals'))).toBe(true);
    expect(files.some((f) => f.includes('approval-with-quota'))).toBe(true);
    expect(files.some((f) => f.includes('delayed-start'))).toBe(true);
  });

  it.each(files)(
    '%s replays without nondeterminism',
    async (file) => {
      // Binary protobuf (History.encode of fetchHistory()): this install's proto-JSON converter is unusable (two
      // protobufjs copies: "type must be a Type").
      const history = temporal.api.history.v1.History.decode(readFileSync(`${dir}${file}`));
      expect(history.events.length).toBeGreaterThan(5);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
    },
    60_000,
  );
});
