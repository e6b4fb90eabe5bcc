/**
 * The `Store` seam and `openStore`: one Kysely instance over SQLite (embedded default) or PostgreSQL,
 * chosen by the store config, with versioned migrations, a health ping and close. `openStore` connects
 * (failure → WARDEN_STORE_UNAVAILABLE) but does not migrate; `migrate()` is idempotent and safe to run
 * from several nodes at once (Kysely's migration lock; an advisory lock on PostgreSQL).
 */
import { Migrator, sql, type Kysely } from 'kysely';
import type { StoreConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import type { Database } from './database.js';
import { createMigrationProvider, type StoreKind } from './migrations/index.js';
import { openPostgresKysely } from './postgres.js';
import { openSqliteKysely } from './sqlite.js';
import { storeUnavailable } from './store-errors.js';

export interface Store {
  readonly kind: StoreKind;
  readonly db: Kysely<Database>;
  /** Applies every pending migration; a no-op when the schema is current. */
  migrate(): Promise<void>;
  /** Resolves when the database answers; throws WARDEN_STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** Opens (and for PostgreSQL, connects to and creates the schema of) the configured store. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === 'sqlite') {
    return createStore('sqlite', openSqliteKysely(config), undefined);
  }
  return createStore('postgres', await openPostgresKysely(config), config.schema);
}

function createStore(kind: StoreKind, db: Kysely<Database>, migrationTableSchema: string | undefined): Store {
  let closed: Promise<void> | undefined;
  return {
    kind,
    db,
    async migrate(): Promise<void> {
      const migrator = new Migrator({
        db,
        provider: createMigrationProvider(kind),
        // Without an explicit schema Kysely looks for its migration table in *any* schema on PostgreSQL.
        ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error !== undefined) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw new WardenError('WARDEN_STORE_MIGRATION_FAILED', 'store migration failed', {
          cause: error,
          ...(failed === undefined ? {} : { details: { migration: failed } }),
        });
      }
    },
    async ping(): Promise<void> {
      // Kysely re-initializes a destroyed driver on use, so a closed store must say so itself.
      if (closed !== undefined) throw storeUnavailable(new Error('store is closed'));
      try {
        await sql`select 1`.execute(db);
      } catch (err) {
        throw storeUnavailable(err);
      }
    },
    close(): Promise<void> {
      closed ??= db.destroy();
      return closed;
    },
  };
}
