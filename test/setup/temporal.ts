// One real Temporal dev server for the whole suite: headless, in memory, free port, every contract search
// attribute registered. Tests connect through TEMPORAL_TEST_ADDRESS / TEMPORAL_TEST_NAMESPACE.
import { ensureTemporalCli, startDevServer } from '@atom-gov/devserver';

export async function startTemporal(): Promise<() => Promise<void>> {
  const started = Date.now();
  const temporalCli = await ensureTemporalCli({
    env: process.env,
    onMessage: (line) => process.stderr.write(`[temporal] ${line}\n`),
  });
  const server = await startDevServer({ temporalCli, headless: true, namespace: 'default' });
  process.env.TEMPORAL_TEST_ADDRESS = server.address;
  process.env.TEMPORAL_TEST_NAMESPACE = server.namespace;
  process.env.TEMPORAL_TEST_CLI = temporalCli;
  process.env.TEMPORAL_TEST_START_MS = String(Date.now() - started);
  return () => server.stop();
}
