// Waiting for state that is only visible by asking (the audit store, Temporal visibility): poll until it is there.
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves with the first value `probe` gives other than undefined, asking every `everyMs`; the test's timeout bounds it. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
}
