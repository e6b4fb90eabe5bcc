/**
 * The PostgreSQL backend: a pg Pool under Kysely. Every connection uses `search_path` = the configured
 * schema (created when missing), int8 values are parsed to JS numbers (our int8 columns hold
 * millisecond timestamps, far below 2^53) and bytea comes back as Buffer. The pool is configured per
 * instance (no global pg type parsers).
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql, type DatabaseIntrospector, type TableMetadata } from 'kysely';
import type { PostgresStoreConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import type { Database } from './database.js';
import { storeUnavailable } from './store-errors.js';

const INT8_OID = 20;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const parseInt8 = (value: string): number => Number(value);

type TextParser = (value: string) => unknown;
const defaultParser = (oid: number, format: 'text' | 'binary'): TextParser =>
  pg.types.getTypeParser(oid, format) as TextParser;

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : defaultParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A pg Pool with Warden's settings: `max: poolSize`, search_path pinned to the schema, int8 → number.
 * Exported so benchmarks can compare against the raw driver with the same pool settings.
 */
export function createPostgresPool(config: PostgresStoreConfig): pg.Pool {
  if (!SCHEMA_NAME.test(config.schema)) {
    throw new WardenError('WARDEN_CONFIG_INVALID', 'store schema must be a lower-case SQL identifier');
  }
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    // No cause: the URL parser's error carries the input, which may hold a password.
    throw new WardenError('WARDEN_CONFIG_INVALID', 'store url is not a valid URL');
  }
  // pg lets options in the URL override the pool config, so fold any URL `options` into ours.
  const urlOptions = url.searchParams.get('options');
  url.searchParams.delete('options');
  const options = [urlOptions, `-c search_path=${config.schema}`].filter((o) => o).join(' ');
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max: config.poolSize,
    options,
    types,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener Node exits.
  // The next query surfaces the failure as WARDEN_STORE_UNAVAILABLE instead.
  pool.on('error', () => undefined);
  return pool;
}

/** Connects, creates the schema when missing, and returns Kysely over the pool. */
export async function openPostgresKysely(config: PostgresStoreConfig): Promise<Kysely<Database>> {
  const pool = createPostgresPool(config);
  try {
    await ensureSchema(pool, config.schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw storeUnavailable(err);
  }
  return new Kysely<Database>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
}

/**
 * PostgreSQL with an introspector that looks only at Warden's own schema. Kysely's default introspector
 * (used by the migrator to see whether its table exists) reads every table of the whole database through
 * functions that resolve relation names; when another Warden (or test run) drops its schema at that
 * moment, the query fails with "relation … does not exist" and the migration with it. Plain catalog
 * joins scoped to `current_schema()` cannot race like that.
 */
class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    const getTables = async (): Promise<TableMetadata[]> => {
      const { rows } = await sql<{ schema: string; name: string; isView: boolean }>`
        select n.nspname as "schema", c.relname as "name", c.relkind = 'v' as "isView"
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v')`.execute(db);
      return rows.map((row) => ({ ...row, columns: [] }));
    };
    return {
      async getSchemas() {
        const { rows } = await sql<{ name: string }>`select nspname as "name" from pg_catalog.pg_namespace`.execute(db);
        return rows;
      },
      getTables,
      async getMetadata() {
        return { tables: await getTables() };
      },
    };
  }
}

async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  const exists = async () => (await pool.query('select 1 from pg_namespace where nspname = $1', [schema])).rowCount === 1;
  if (await exists()) return;
  try {
    // The name is validated against SCHEMA_NAME above, so quoting it is enough.
    await pool.query(`create schema if not exists "${schema}"`);
  } catch (err) {
    // Two nodes creating the schema at once: one of them sees a unique violation. Fine if it exists now.
    if (!(await exists())) throw err;
  }
}
