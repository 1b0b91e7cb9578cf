export { createPiiScanner, summarize, isSafePattern, type PiiScanner } from './pii-scanner.js';
export { selfTest, SELF_TEST_SAMPLES } from './self-test.js';
export { normalizeText, type NormalizedText } from './normalize.js';
export { luhnValid, cardBrand, ibanValid, ssnValid, ipv4Valid } from './validators.js';
export {
  BUILTIN_PII_KINDS,
  PiiConfigError,
  PiiScanError,
  type BuiltinPiiKind,
  type PiiKind,
  type CustomPiiPattern,
  type RedactionStyle,
  type PiiAction,
  type PiiScannerOptions,
  type PiiFinding,
  type PiiSummary,
  type PiiJsonReport,
  type PiiOutcome,
  type SelfTestFailure,
} from './pii.types.js';
