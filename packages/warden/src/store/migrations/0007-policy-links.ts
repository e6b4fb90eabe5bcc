/**
 * Migration 0007: template links are part of a policy set version. `policy_sets.links` holds them as a
 * JSON array of `{id, templateId, principal?, resource?}` (`[]` for versions applied before).
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0007PolicyLinks(_types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('policy_sets')
        .addColumn('links', 'text', (col) => col.notNull().defaultTo('[]'))
        .execute();
    },
  };
}
