export { canonicalJson, definitionHash, PinningError } from './canonical.js';
export { detectCollisions, withoutCollisions, type Collision, type CollisionOptions } from './collisions.js';
export {
  emptyLock,
  INSTRUCTIONS_NAME,
  LockStore,
  parseLock,
  PIN_KINDS,
  type ListKind,
  type LockFile,
  type PendingChange,
  type PinEntry,
  type PinKind,
  type ServerPins,
} from './lock-store.js';
export {
  approveChange,
  describeChange,
  pinServer,
  pinStatus,
  type ApprovedChange,
  type DefinitionSnapshot,
  type PinServerResult,
  type PinStatusRow,
} from './pin-admin.js';
export {
  approveCommand,
  blockedMessage,
  createPinningService,
  itemKey,
  type BlockedItem,
  type BlockReason,
  type CheckResult,
  type FilterResult,
  type PinBlockedEvent,
  type PinnedEvent,
  type PinningMode,
  type PinningService,
  type PinningServiceOptions,
} from './pinning.service.js';
