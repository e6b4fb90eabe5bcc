/**
 * Public API of the audit subsystem: the event and entry format (RFC 8785 canonical JSON), the Merkle
 * tree (RFC 9162 hashes, proofs and their verifiers), signed checkpoints, offline verification and
 * export bundles, and the durable log itself (`openAuditLog`: group-commit appends, proofs from the
 * store, periodic signed checkpoints).
 */
export { canonicalize, type JsonValue } from './canonical-json.js';
export {
  auditClasses,
  entryBody,
  entryBytes,
  type AuditActivity,
  type AuditClass,
  type AuditEntry,
  type AuditEntryBody,
  type AuditEvent,
} from './event.js';
export {
  EMPTY_ROOT,
  HASH_BYTES,
  consistencyProof,
  createFrontier,
  frontierNodes,
  inclusionProof,
  leafHash,
  nodeHash,
  nodesFor,
  rootHash,
  verifyConsistency,
  verifyInclusion,
  type Frontier,
  type NodeId,
  type PerfectHash,
} from './merkle.js';
export {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  verifierKey,
  type Checkpoint,
  type VerifierKey,
} from './checkpoint.js';
export {
  PROGRESS_EVERY,
  embeddedIndex,
  verifyLog,
  type Problem,
  type ProblemKind,
  type VerifyInput,
  type VerifyReport,
} from './verify.js';
export {
  BUNDLE_FORMAT,
  readBundle,
  verifyBundle,
  writeBundle,
  type Bundle,
  type BundleHeader,
  type BundleHeaderInput,
  type VerifyBundleOptions,
} from './bundle.js';
export { MAX_READ, openAuditLog, type AuditLog, type OpenAuditLogOptions } from './log.js';
export type { StoredCheckpoint } from './checkpointer.js';
export type { AppendResult } from './appender.js';
export {
  RETENTION_LOCK_CLASS,
  createRetention,
  type Retention,
  type RetentionOptions,
  type RetentionResult,
} from './retention.js';
