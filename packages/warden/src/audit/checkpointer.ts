/**
 * Signed checkpoints of the audit log. Every `interval`, and on `signNow()`, if the log has grown past
 * the latest stored checkpoint: compute the root at the committed size from the stored tree and prove
 * it consistent with the latest checkpoint (whose signed note must verify and state the same size and
 * root as its row) by a consistency proof that is verified — two inconsistent checkpoints are never
 * signed: a failure is logged and refused with WARDEN_AUDIT_VERIFY_FAILED. Then sign it and insert it
 * if absent (a concurrent node signing the same size is fine: both sign the same tree). Every
 * checkpoint is kept. Signing runs one at a time per checkpointer.
 */
import type { Kysely } from 'kysely';
import { WardenError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Database } from '../store/database.js';
import { verifyConsistency } from './merkle.js';
import type { TreeStore } from './tree-store.js';

export interface StoredCheckpoint {
  size: number;
  root: Buffer;
  note: string;
}

export interface Checkpointer {
  /** Signs a checkpoint at the current size if the log grew; returns the latest checkpoint afterwards. */
  signNow(): Promise<StoredCheckpoint | undefined>;
  /** Stops the timer and waits for a signing in progress. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  readonly db: Kysely<Database>;
  readonly tree: Pick<TreeStore, 'rootAt' | 'consistencyProof'>;
  /** The committed size of the log. */
  readonly size: () => Promise<number>;
  /** The signed note of a checkpoint over `size` and `root`. */
  readonly sign: (checkpoint: { size: number; root: Buffer }) => string;
  /** Opens a stored note with the log's verifier key (throws when the signature does not verify). */
  readonly verify: (note: string) => { size: number; root: Uint8Array };
  /** Milliseconds between signing attempts; 0 or less: no timer (signNow only). */
  readonly interval: number;
  readonly logger: Pick<Logger, 'error' | 'warn'>;
}

/** The stored checkpoint with the largest size, if any. */
export async function latestStoredCheckpoint(db: Kysely<Database>): Promise<StoredCheckpoint | undefined> {
  const row = await db
    .selectFrom('audit_checkpoints')
    .select(['size', 'root', 'note'])
    .orderBy('size', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && { size: Number(row.size), root: row.root, note: row.note };
}

export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  const { db, tree, size, sign, verify, interval, logger } = options;
  let running: Promise<StoredCheckpoint | undefined> = Promise.resolve(undefined);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const refuse = (message: string, details: Record<string, unknown>): never => {
    logger.error(details, `audit checkpoint refused: ${message}`);
    throw new WardenError('WARDEN_AUDIT_VERIFY_FAILED', `audit checkpoint refused: ${message}`, { details });
  };

  const signOnce = async (): Promise<StoredCheckpoint | undefined> => {
    const [current, latest] = await Promise.all([size(), latestStoredCheckpoint(db)]);
    if (latest !== undefined && current <= latest.size) return latest;
    if (current === 0) return latest;
    const root = await tree.rootAt(current);
    if (latest !== undefined) {
      // The stored row is only trusted as far as its signed note says the same size and root.
      let opened: { size: number; root: Uint8Array } | undefined;
      try {
        opened = verify(latest.note);
      } catch {
        opened = undefined;
      }
      if (opened?.size !== latest.size || !latest.root.equals(opened.root)) {
        refuse('the latest stored checkpoint does not verify', { size: latest.size });
      }
      const proof = await tree.consistencyProof(latest.size, current);
      if (!verifyConsistency(latest.size, current, latest.root, root, proof)) {
        refuse('the log is not consistent with the latest checkpoint', { from: latest.size, to: current });
      }
    }
    const note = sign({ size: current, root });
    await db
      .insertInto('audit_checkpoints')
      .values({ size: current, root, note, created_at: Date.now() })
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
    const stored = await db
      .selectFrom('audit_checkpoints')
      .select(['root', 'note'])
      .where('size', '=', current)
      .executeTakeFirstOrThrow();
    if (!stored.root.equals(root)) refuse('another checkpoint of the same size has a different root', { size: current });
    return { size: current, root: stored.root, note: stored.note };
  };

  const signNow = (): Promise<StoredCheckpoint | undefined> => {
    const next = running.catch(() => undefined).then(signOnce);
    running = next;
    return next;
  };

  const schedule = () => {
    if (stopped || interval <= 0) return;
    timer = setTimeout(() => {
      signNow()
        .catch((err: unknown) => logger.warn({ err }, 'audit checkpoint signing failed'))
        .finally(schedule);
    }, interval);
    timer.unref();
  };
  schedule();

  return {
    signNow,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
