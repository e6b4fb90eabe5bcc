/**
 * Login throttling: exponential backoff after failed logins, kept per username and per source address
 * in the `login_throttle` table so every node shares it. The first few failures are free; after that
 * each failure locks the key for a delay that doubles up to a cap. A locked key refuses attempts with
 * WARDEN_LOGIN_THROTTLED (and the seconds to wait); a successful login resets the user's and the
 * address's counters.
 */
import { sql, type Kysely } from 'kysely';
import { WardenError } from '../errors/index.js';
import type { Database } from '../store/database.js';

export interface BackoffSchedule {
  /** Failures allowed before any delay. */
  readonly free: number;
  /** The delay after the first failure beyond `free` (ms); doubles each further failure. */
  readonly baseMs: number;
  readonly maxMs: number;
}

export const defaultBackoff: BackoffSchedule = Object.freeze({ free: 3, baseMs: 1000, maxMs: 15 * 60_000 });

/** The lock after `failures` consecutive failures under `schedule` (0 while still free). */
export function backoffDelay(failures: number, schedule: BackoffSchedule = defaultBackoff): number {
  if (failures <= schedule.free) return 0;
  const exponent = Math.min(failures - schedule.free - 1, 40);
  return Math.min(schedule.baseMs * 2 ** exponent, schedule.maxMs);
}

export interface LoginThrottleOptions {
  readonly db: Kysely<Database>;
  readonly schedule?: BackoffSchedule;
  readonly now?: () => number;
}

export interface LoginThrottle {
  /** Throws WARDEN_LOGIN_THROTTLED (details.retryAfter, seconds) when the user or the address is locked. */
  check(username: string, ip?: string): Promise<void>;
  /** Records a failure for the user and the address. */
  fail(username: string, ip?: string): Promise<void>;
  /** Clears the counters of the user and the address. */
  reset(username: string, ip?: string): Promise<void>;
}

const keysFor = (username: string, ip: string | undefined) => [`user:${username}`, ...(ip ? [`ip:${ip}`] : [])];

export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const { db } = options;
  const schedule = options.schedule ?? defaultBackoff;
  const now = options.now ?? Date.now;

  return {
    async check(username, ip) {
      const rows = await db.selectFrom('login_throttle').select(['locked_until']).where('key', 'in', keysFor(username, ip)).execute();
      const lockedUntil = Math.max(0, ...rows.map((r) => Number(r.locked_until)));
      const wait = lockedUntil - now();
      if (wait > 0) {
        const retryAfter = Math.ceil(wait / 1000);
        throw new WardenError('WARDEN_LOGIN_THROTTLED', `too many failed logins; retry in ${retryAfter} s`, { details: { retryAfter } });
      }
    },
    async fail(username, ip) {
      for (const key of keysFor(username, ip)) {
        const at = now();
        // Increment atomically (several nodes may count the same key), then derive the lock from the count.
        const row = await db
          .insertInto('login_throttle')
          .values({ key, failures: 1, locked_until: 0, updated_at: at })
          .onConflict((oc) => oc.column('key').doUpdateSet({ failures: sql<number>`login_throttle.failures + 1`, updated_at: at }))
          .returning('failures')
          .executeTakeFirstOrThrow();
        const delay = backoffDelay(Number(row.failures), schedule);
        if (delay > 0) {
          await db
            .updateTable('login_throttle')
            .set({ locked_until: at + delay })
            .where('key', '=', key)
            .where('locked_until', '<', at + delay)
            .execute();
        }
      }
    },
    async reset(username, ip) {
      await db.deleteFrom('login_throttle').where('key', 'in', keysFor(username, ip)).execute();
    },
  };
}
