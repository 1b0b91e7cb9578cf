import { type AuditStore } from '@atom-gov/audit';
import { type AtomGovConfig } from '@atom-gov/config';

/** Injection token for the options every gateway module reads. */
export const GATEWAY_OPTIONS = Symbol('GATEWAY_OPTIONS');

export interface GatewayOptions {
  config: AtomGovConfig;
  temporalAddress: string;
  audit: AuditStore;
}
