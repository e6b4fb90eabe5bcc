/**
 * The audit log: `openAuditLog` wires the keys (`audit-keys.ts`), the group-commit appender (committing
 * through a worker-thread `SqliteWriter` when the store is a SQLite file), the stored Merkle tree and the
 * checkpointer over one store, and answers the read side — entries, checkpoints, proofs and frontiers,
 * each validated against the committed size (bad parameters are WARDEN_VALIDATION_FAILED). `close()`
 * flushes queued appends, ends the writer's worker, signs a final checkpoint and stops the timer; it
 * does not close the store, which the caller owns.
 */
import type { Barrier } from '../barrier/index.js';
import type { AuditConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { sqliteFilePath, type Store } from '../store/index.js';
import { createAppender } from './appender.js';
import { loadAuditKeys } from './audit-keys.js';
import { openCheckpoint, signCheckpoint, verifierKey as formatVerifierKey } from './checkpoint.js';
import { createCheckpointer, latestStoredCheckpoint, type StoredCheckpoint } from './checkpointer.js';
import type { AuditEntry, AuditEvent } from './event.js';
import { createSqliteWriter } from './sqlite-writer.js';
import { createTreeStore } from './tree-store.js';

/** Most entries or checkpoints one read returns. */
export const MAX_READ = 1000;

export interface AuditLog {
  /** `warden/<16 hex>`: the origin line of every checkpoint of this log. */
  readonly origin: string;
  /** The signed-note verifier key of the checkpoint signing key. */
  readonly verifierKey: string;
  /** Resolves once the entry is durable; WARDEN_AUDIT_UNAVAILABLE when it could not be made durable. */
  append(event: AuditEvent): Promise<{ index: number; leafHash: Buffer }>;
  /** The committed number of entries. */
  size(): Promise<number>;
  /** Up to `limit` (capped at 1000) entries from `start`, ordered by index. */
  entries(start: number, limit: number): Promise<AuditEntry[]>;
  /** Checkpoints of size >= `fromSize`, smallest first, up to `limit` (capped at 1000). */
  checkpoints(fromSize?: number, limit?: number): Promise<StoredCheckpoint[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Inclusion proof of entry `index` in the tree of `size` entries (index < size <= log size). */
  inclusionProof(index: number, size: number): Promise<Buffer[]>;
  /** Consistency proof between the trees of `from` and `to` entries (0 < from <= to <= log size). */
  consistencyProof(from: number, to: number): Promise<Buffer[]>;
  /** The frontier hashes of the tree of `size` entries (for export bundles starting at `size`). */
  frontier(size: number): Promise<Buffer[]>;
  /** `hmac-sha256:<base64>` of `value` under the audit HMAC key. */
  hmac(value: string): string;
  /** False after a failed commit until a later one succeeds. */
  healthy(): boolean;
  /** Signs a checkpoint now if the log grew since the latest one. */
  signCheckpoint(): Promise<void>;
  /** Flushes queued appends, signs a final checkpoint, stops the timer. Idempotent. */
  close(): Promise<void>;
}

export interface OpenAuditLogOptions {
  readonly store: Pick<Store, 'kind' | 'db'>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  readonly config: Pick<AuditConfig, 'checkpointInterval' | 'maxBatch'>;
  readonly logger: Logger;
}

function invalid(message: string): WardenError {
  return new WardenError('WARDEN_VALIDATION_FAILED', message);
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${name} must be a non-negative integer`);
}

export async function openAuditLog({ store, barrier, config, logger }: OpenAuditLogOptions): Promise<AuditLog> {
  const { db, kind } = store;
  const keys = await loadAuditKeys({ db, barrier });
  const verifierKey = formatVerifierKey(keys.origin, keys.publicKey);
  const tree = createTreeStore(db);
  // A file-backed SQLite log commits in a worker thread (off the event loop); PostgreSQL and an in-memory
  // SQLite database commit in process.
  const file = kind === 'sqlite' ? await sqliteFilePath(db) : undefined;
  const appender = createAppender({
    db,
    kind,
    hmac: keys.hmac,
    maxBatch: config.maxBatch,
    logger,
    ...(file === undefined ? {} : { sqliteWriter: createSqliteWriter({ path: file }) }),
  });

  const size = async (): Promise<number> => {
    const row = await db
      .selectFrom('audit_entries')
      .select('idx')
      .orderBy('idx', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? 0 : Number(row.idx) + 1;
  };
  /** Throws unless `value` is a size the committed log has reached. */
  const checkReached = async (name: string, value: number) => {
    checkCount(name, value);
    const current = await size();
    if (value > current) throw invalid(`${name} ${value} is larger than the log (${current} entries)`);
  };

  const checkpointer = createCheckpointer({
    db,
    tree,
    size,
    sign: ({ size: treeSize, root }) =>
      signCheckpoint({ origin: keys.origin, size: treeSize, root }, { name: keys.origin, privateKey: keys.signingKey }),
    verify: (note) => openCheckpoint(note, verifierKey),
    interval: config.checkpointInterval,
    logger,
  });

  let closing: Promise<void> | undefined;
  return {
    origin: keys.origin,
    verifierKey,
    append: (event) => appender.append(event),
    size,
    async entries(start, limit) {
      checkCount('start', start);
      checkCount('limit', limit);
      if (limit === 0) return [];
      const rows = await db
        .selectFrom('audit_entries')
        .select(['idx', 'leaf_hash', 'body'])
        .where('idx', '>=', start)
        .orderBy('idx')
        .limit(Math.min(limit, MAX_READ))
        .execute();
      return rows.map((r) => ({ index: Number(r.idx), leafHash: r.leaf_hash, body: r.body }));
    },
    async checkpoints(fromSize = 0, limit = MAX_READ) {
      checkCount('fromSize', fromSize);
      checkCount('limit', limit);
      if (limit === 0) return [];
      const rows = await db
        .selectFrom('audit_checkpoints')
        .select(['size', 'root', 'note'])
        .where('size', '>=', fromSize)
        .orderBy('size')
        .limit(Math.min(limit, MAX_READ))
        .execute();
      return rows.map((r) => ({ size: Number(r.size), root: r.root, note: r.note }));
    },
    latestCheckpoint: () => latestStoredCheckpoint(db),
    async inclusionProof(index, treeSize) {
      checkCount('index', index);
      await checkReached('size', treeSize);
      if (index >= treeSize) throw invalid(`index ${index} is not below size ${treeSize}`);
      return tree.inclusionProof(index, treeSize);
    },
    async consistencyProof(from, to) {
      checkCount('from', from);
      await checkReached('to', to);
      if (from === 0) throw invalid('from must be at least 1');
      if (from > to) throw invalid(`from ${from} is larger than to ${to}`);
      return tree.consistencyProof(from, to);
    },
    async frontier(treeSize) {
      await checkReached('size', treeSize);
      return tree.frontier(treeSize);
    },
    hmac: keys.hmac,
    healthy: () => appender.healthy(),
    async signCheckpoint() {
      await checkpointer.signNow();
    },
    close() {
      closing ??= (async () => {
        await appender.close();
        try {
          await checkpointer.signNow();
        } catch (err) {
          logger.error({ err }, 'audit log: the final checkpoint could not be signed');
        } finally {
          await checkpointer.stop();
        }
      })();
      return closing;
    },
  };
}
