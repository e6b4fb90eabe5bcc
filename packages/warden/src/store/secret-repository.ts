/**
 * Data access for named secrets (`secrets`). Values are opaque bytes — barrier ciphertext produced by
 * the caller; this repository never encrypts, decrypts or sees plaintext. `get` and `delete` of a
 * missing name throw WARDEN_NOT_FOUND; `find` returns undefined instead.
 */
import type { Kysely } from 'kysely';
import { WardenError } from '../errors/index.js';
import { toBuffer } from './bytes.js';
import type { Database } from './database.js';

export interface SecretRecord {
  readonly name: string;
  /** Barrier ciphertext. */
  readonly value: Buffer;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface SecretRepository {
  /** Inserts or replaces the value of `name` (created_at is kept on replace). */
  put(name: string, value: Uint8Array): Promise<void>;
  /** The record of `name`; throws WARDEN_NOT_FOUND when there is none. */
  get(name: string): Promise<SecretRecord>;
  /** The record of `name`, or undefined. */
  find(name: string): Promise<SecretRecord | undefined>;
  /** Every name, sorted. */
  listNames(): Promise<string[]>;
  /** Deletes `name`; throws WARDEN_NOT_FOUND when there is none. */
  delete(name: string): Promise<void>;
}

export function createSecretRepository(db: Kysely<Database>): SecretRepository {
  const find = async (name: string): Promise<SecretRecord | undefined> => {
    const row = await db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { name: row.name, value: row.value, createdAt: row.created_at, updatedAt: row.updated_at };
  };
  return {
    async put(name, value) {
      const now = Date.now();
      const bytes = toBuffer(value);
      await db
        .insertInto('secrets')
        .values({ name, value: bytes, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value: bytes, updated_at: now }))
        .execute();
    },
    async get(name) {
      const record = await find(name);
      if (record === undefined) throw notFound(name);
      return record;
    },
    find,
    async listNames() {
      const rows = await db.selectFrom('secrets').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },
    async delete(name) {
      const result = await db.deleteFrom('secrets').where('name', '=', name).executeTakeFirst();
      if (result.numDeletedRows === 0n) throw notFound(name);
    },
  };
}

function notFound(name: string): WardenError {
  return new WardenError('WARDEN_NOT_FOUND', 'secret not found', { details: { name } });
}
