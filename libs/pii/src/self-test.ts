// Start-up self-test: each enabled recognizer must find and mask its own sample, or the gateway refuses to start.
import { createPiiScanner } from './pii-scanner.js';
import { BUILTIN_PII_KINDS, type PiiScannerOptions, type SelfTestFailure } from './pii.types.js';

/** One sample per built-in kind and the exact sensitive part that must disappear. */
export const SELF_TEST_SAMPLES: Readonly<Record<string, { text: string; secret: string }>> = {
  ssn: { text: 'Employee SSN: 536-22-1234 (on file)', secret: '536-22-1234' },
  credit_card: { text: 'Paid with card 4111 1111 1111 1111 yesterday', secret: '4111 1111 1111 1111' },
  email: { text: 'Contact jane.doe@example.com for access', secret: 'jane.doe@example.com' },
  phone: { text: 'Call me on +1 415-555-2671 after 5pm', secret: '415-555-2671' },
  iban: { text: 'Wire to DE89 3704 0044 0532 0130 00 today', secret: 'DE89 3704 0044 0532 0130 00' },
  ip_address: { text: 'Login from 203.0.113.42 and 2001:db8::8a2e:370:7334', secret: '203.0.113.42' },
  secret: { text: 'export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE', secret: 'AKIAIOSFODNN7EXAMPLE' },
};

const ALIASES: Readonly<Record<string, string>> = { secrets: 'secret', ip: 'ip_address', cc: 'credit_card' };

/**
 * Prove that every enabled kind masks its sample (built-ins use SELF_TEST_SAMPLES, custom patterns their
 * `sample`). Returns the failures; an empty list means the scanner is fit to run.
 */
export function selfTest(enabledKinds: readonly string[], options: PiiScannerOptions = {}): SelfTestFailure[] {
  const failures: SelfTestFailure[] = [];
  const customs = options.custom ?? [];
  for (const requested of enabledKinds) {
    const kind = ALIASES[requested] ?? requested;
    const custom = customs.find((c) => c.name === kind);
    const sample = custom
      ? custom.sample === undefined
        ? undefined
        : { text: custom.sample, secret: undefined }
      : SELF_TEST_SAMPLES[kind];
    if (!custom && !(BUILTIN_PII_KINDS as readonly string[]).includes(kind)) {
      failures.push({ kind: requested, reason: `unknown PII kind (known: ${BUILTIN_PII_KINDS.join(', ')})` });
      continue;
    }
    if (!sample) {
      failures.push({ kind, reason: 'custom pattern has no sample: add `sample:` with one example match' });
      continue;
    }
    try {
      const scanner = createPiiScanner({
        ...options,
        kinds: custom ? [] : [kind],
        custom: custom ? [custom] : [],
        style: 'mask',
        mask: 'label',
      });
      const { text, summary } = scanner.redactText(sample.text);
      if ((summary.counts[kind] ?? 0) < 1) failures.push({ kind, reason: 'sample was not detected' });
      else if (!text.includes(`[REDACTED:${kind}]`)) failures.push({ kind, reason: 'sample was not masked' });
      else if (sample.secret !== undefined && text.includes(sample.secret)) {
        failures.push({ kind, reason: 'masked output still contains the sample value' });
      }
    } catch (err) {
      failures.push({ kind, reason: (err as Error).message });
    }
  }
  return failures;
}
