export { RateLimitService } from './rate-limit.service.js';
export { RateLimitSpecError, RateLimitStoreError } from './rate-limit.errors.js';
export { validateRateLimitSpec } from './rate-limit.compile.js';
export {
  PERIOD_MS,
  formatDuration,
  formatLimit,
  rateLimitExceededMessage,
  type PeriodUnit,
} from './rate-limit.message.js';
export type {
  RateLimitCode,
  RateLimitContext,
  RateLimitDimension,
  RateLimitEnforcement,
  RateLimitPer,
  RateLimitResult,
  RateLimitServiceOptions,
  RateLimitSpec,
  RateLimitWindow,
} from './rate-limit.types.js';
