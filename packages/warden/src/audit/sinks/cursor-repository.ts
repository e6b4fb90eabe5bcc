/**
 * Data access for export cursors (`audit_sink_cursors`): per sink name, the index of the next entry to
 * deliver. A cursor only moves forward: `set` is an upsert that leaves a larger stored value alone, so a
 * slow node or a stale runner can never rewind another node's progress (which would only re-send, but
 * needlessly). A sink never seen before starts at 0, the beginning of the log.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/index.js';

export interface SinkCursorRepository {
  /** The next index `name` will deliver; 0 when it has no cursor yet. */
  get(name: string): Promise<number>;
  /** Records that every entry below `nextIndex` was delivered; never moves a cursor backwards. */
  set(name: string, nextIndex: number): Promise<void>;
}

export function createSinkCursorRepository(db: Kysely<Database>, clock: () => number = Date.now): SinkCursorRepository {
  return {
    async get(name) {
      const row = await db
        .selectFrom('audit_sink_cursors')
        .select('next_index')
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? 0 : Number(row.next_index);
    },
    async set(name, nextIndex) {
      if (!Number.isSafeInteger(nextIndex) || nextIndex < 0) {
        throw new RangeError(`cursor index must be a non-negative integer, got ${nextIndex}`);
      }
      const now = clock();
      await db
        .insertInto('audit_sink_cursors')
        .values({ name, next_index: nextIndex, updated_at: now })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ next_index: nextIndex, updated_at: now })
            .where('audit_sink_cursors.next_index', '<', nextIndex),
        )
        .execute();
    },
  };
}
