/** Migration 0003: agents and their credentials. */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0003Agents(_types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
