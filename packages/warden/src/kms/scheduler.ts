/**
 * The KMS scheduler: every `interval` it rotates the keys whose rotation period has passed and destroys
 * the keys whose destruction window has ended. With several nodes on PostgreSQL each tick's work runs
 * under a transaction-scoped advisory lock, so one node at a time does it, and every change is a
 * compare-and-set besides, so even a lost lock never rotates a key twice. Failures are logged and
 * retried on the next tick; nothing is skipped for good.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from '../log/index.js';
import type { Database, StoreKind } from '../store/index.js';
import type { Keyring } from './keyring.js';

/** The advisory lock id of the KMS scheduler (`warden:kms` as a 31-bit number). */
export const KMS_SCHEDULER_LOCK = 0x77_6b_6d_73;

/**
 * Runs scheduler work holding the scheduler lock: a transaction-scoped advisory lock on PostgreSQL, or
 * directly on SQLite (one node; the work opens its own short transactions).
 */
export function schedulerTransaction(db: Kysely<Database>, kind: StoreKind) {
  return async <T>(fn: (q: Kysely<Database>) => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> => {
    if (kind === 'sqlite') return { locked: true as const, value: await fn(db) };
    return db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${KMS_SCHEDULER_LOCK}) as locked`.execute(trx);
      if (!rows[0]?.locked) return { locked: false as const };
      return { locked: true as const, value: await fn(trx) };
    });
  };
}

export interface KmsScheduler {
  /** One pass: rotations, then destructions. */
  tick(): Promise<{ rotated: string[]; destroyed: string[] }>;
  start(): void;
  stop(): Promise<void>;
}

export function createKmsScheduler({ keyring, logger, interval = 60_000 }: { keyring: Pick<Keyring, 'rotateDue' | 'destroyDue'>; logger: Logger; interval?: number }): KmsScheduler {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const tick = async () => {
    const rotated = await keyring.rotateDue();
    const destroyed = await keyring.destroyDue();
    if (rotated.length > 0 || destroyed.length > 0) logger.info({ rotated, destroyed }, 'kms scheduler pass');
    return { rotated, destroyed };
  };
  return {
    tick,
    start() {
      timer ??= setInterval(() => {
        if (running) return;
        running = tick()
          .catch((err: unknown) => logger.error({ err }, 'kms scheduler pass failed'))
          .finally(() => (running = undefined));
      }, interval);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
