import { type AuditStore } from '@atom-gov/audit';
import { type AtomGovConfig } from '@atom-gov/config';

/** Injection token for the options every gateway module reads. */
export const GATEWAY_OPTIONS = Symbol('GATEWAY_OPTIONS');

export interface GatewayOptions {
  config: AtomGovConfig;
  temporalAddress: string;
  audit: AuditStore;
  /** How often a caller waiting for approval gets a progress notification (default 5000 ms; tests shorten it). */
  governedProgressEveryMs?: number;
  /** How long an approved operation waits for this gateway's outcome report before releasing its quota (default
   * 10 min: a gateway that died mid-call leaves nothing reserved for longer). */
  governedOutcomeTimeoutMs?: number;
}
