/** Where the suite's shared Temporal dev server listens (started by test/setup/temporal.ts). */
export interface TemporalTestEnv {
  address: string;
  namespace: string;
  /** Path of the pinned Temporal CLI, for tests that start their own server. */
  cli: string;
}

export function temporalTestEnv(): TemporalTestEnv {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  const cli = process.env.TEMPORAL_TEST_CLI;
  if (!address || !cli) {
    throw new Error(
      'TEMPORAL_TEST_ADDRESS is not set: run tests through `npm run jest` so that test/global-setup.ts starts the dev server.',
    );
  }
  return { address, cli, namespace: process.env.TEMPORAL_TEST_NAMESPACE ?? 'default' };
}

/** A task queue name no other test uses, so tests on the shared server do not steal each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
