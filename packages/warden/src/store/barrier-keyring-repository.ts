/**
 * Data access for the barrier keyring (`barrier_keys`): the wrapped barrier key versions. Inserting a
 * version that already exists throws WARDEN_STORE_CONFLICT, so two nodes creating or rotating the
 * keyring at the same time can detect it, reload and retry.
 */
import type { Kysely } from 'kysely';
import { toBuffer } from './bytes.js';
import type { Database } from './database.js';
import { isUniqueViolation, storeConflict } from './store-errors.js';

export interface BarrierKeyRecord {
  readonly version: number;
  /** The barrier key wrapped by the root key (see barrier/README.md). */
  readonly wrapped: Buffer;
  readonly createdAt: number;
}

export interface BarrierKeyringRepository {
  /** Every version, oldest first. */
  list(): Promise<BarrierKeyRecord[]>;
  /** Inserts a new version; throws WARDEN_STORE_CONFLICT when the version exists. */
  insert(record: { version: number; wrapped: Uint8Array; createdAt?: number }): Promise<void>;
}

export function createBarrierKeyringRepository(db: Kysely<Database>): BarrierKeyringRepository {
  return {
    async list() {
      const rows = await db.selectFrom('barrier_keys').selectAll().orderBy('version').execute();
      return rows.map((r) => ({ version: r.version, wrapped: r.wrapped, createdAt: r.created_at }));
    },
    async insert({ version, wrapped, createdAt = Date.now() }) {
      try {
        await db
          .insertInto('barrier_keys')
          .values({ version, wrapped: toBuffer(wrapped), created_at: createdAt })
          .execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw storeConflict('barrier key version', err);
        throw err;
      }
    },
  };
}
