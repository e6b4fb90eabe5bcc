/**
 * Revoked access tokens and single-use ids, both in the shared database. `revoke(jti, expiresAt)` writes
 * `token_revocations` and adds the jti to an in-memory set at once, so a revocation made on this node is
 * effective on its very next request; revocations made by other nodes arrive through `refresh()`, which
 * reads rows revoked since the last refresh (the service runs it on a short timer, so cross-node latency
 * is at most that interval). `isRevoked` is a set lookup. `useOnce(scope, jti, expiresAt)` records a
 * private_key_jwt assertion or DPoP proof id in `token_replay_guards` — primary key (scope, jti), so a
 * second use anywhere is a conflict and returns false. `prune()` deletes expired rows of both tables.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';

/** Replay-guard scopes. */
export type ReplayScope = 'assertion' | 'dpop';

export interface Revocations {
  /** Records the revocation of `jti` (a token valid until `expiresAt`); idempotent. */
  revoke(jti: string, expiresAt: number): Promise<void>;
  /** True when `jti` was revoked here or seen revoked by the last refresh. */
  isRevoked(jti: string): boolean;
  /** Loads revocations written since the last refresh (other nodes'). */
  refresh(): Promise<void>;
  /** True the first time (scope, jti) is used; false for a replay. */
  useOnce(scope: ReplayScope, jti: string, expiresAt: number): Promise<boolean>;
  /** Deletes expired revocations and replay guards, and forgets expired revocations in memory. */
  prune(): Promise<void>;
}

export interface CreateRevocationsOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => number;
  /** How far back each refresh re-reads, to cover clock skew between nodes and slow commits (default 10 s). */
  readonly overlap?: number;
}

/** Creates the revocation and replay store; call `refresh()` once before use to load existing revocations. */
export function createRevocations({ db, now = Date.now, overlap = 10_000 }: CreateRevocationsOptions): Revocations {
  /** jti -> expires_at */
  const revoked = new Map<string, number>();
  let since = 0;

  return {
    async revoke(jti, expiresAt) {
      revoked.set(jti, expiresAt);
      await db
        .insertInto('token_revocations')
        .values({ jti, expires_at: expiresAt, revoked_at: now() })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute();
    },
    isRevoked: (jti) => revoked.has(jti),
    async refresh() {
      const started = now();
      const rows = await db
        .selectFrom('token_revocations')
        .select(['jti', 'expires_at'])
        .where('revoked_at', '>=', Math.max(0, since - overlap))
        .where('expires_at', '>', started)
        .execute();
      for (const row of rows) revoked.set(row.jti, Number(row.expires_at));
      since = started;
    },
    async useOnce(scope, jti, expiresAt) {
      const result = await db
        .insertInto('token_replay_guards')
        .values({ scope, jti, expires_at: expiresAt })
        .onConflict((oc) => oc.columns(['scope', 'jti']).doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
    async prune() {
      const t = now();
      for (const [jti, expiresAt] of revoked) if (expiresAt <= t) revoked.delete(jti);
      await db.deleteFrom('token_revocations').where('expires_at', '<=', t).execute();
      await db.deleteFrom('token_replay_guards').where('expires_at', '<=', t).execute();
    },
  };
}
