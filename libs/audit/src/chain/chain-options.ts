import { type CheckpointOptions } from './checkpointer.js';

/** The parts of the config's `audit` block the chain uses (structurally: this lib does not load config). */
export interface AuditChainConfig {
  signingKey: string;
  checkpointFile?: string;
  trailFile?: string;
}

/**
 * Store options of a process that writes audit events (gateway, worker): signed checkpoints with the configured
 * key, their mirror file and the trail file. `openAuditStore({ ...db, ...auditChainOptions(config.audit) })`.
 */
export function auditChainOptions(audit: AuditChainConfig): {
  checkpoints: CheckpointOptions;
  trailFile?: string;
} {
  return {
    checkpoints: {
      signingKeyPath: audit.signingKey,
      ...(audit.checkpointFile !== undefined ? { mirrorFile: audit.checkpointFile } : {}),
    },
    ...(audit.trailFile !== undefined ? { trailFile: audit.trailFile } : {}),
  };
}
