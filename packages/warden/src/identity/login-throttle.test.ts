/** Login throttle: the backoff schedule, and on both backends per-user and per-address locks and reset. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { backoffDelay, createLoginThrottle, type LoginThrottle } from './login-throttle.js';

describe('backoffDelay', () => {
  it('is free for three failures, then 1 s doubling up to 15 minutes', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelay(n))).toEqual([0, 0, 0, 0]);
    expect([4, 5, 6, 7].map((n) => backoffDelay(n))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(14)).toBe(900_000);
    expect(backoffDelay(10_000)).toBe(900_000);
  });
});

const throttled = (e: unknown) => isWardenError(e, 'WARDEN_LOGIN_THROTTLED');

describe.each(storeBackends)('login throttle on $name', (backend) => {
  let opened: OpenedTestStore;
  let clock: number;
  let throttle: LoginThrottle;
  beforeEach(async () => {
    opened = await backend.openMigrated();
    clock = 1_700_000_000_000;
    throttle = createLoginThrottle({ db: opened.store.db, now: () => clock });
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('locks a username after repeated failures, from any address, with a retry-after', async () => {
    for (let i = 0; i < 4; i++) await throttle.fail('alice', `10.0.0.${i}`);
    const err: unknown = await throttle.check('alice', '10.9.9.9').catch((e: unknown) => e);
    expect(throttled(err)).toBe(true);
    expect((err as { details: { retryAfter: number } }).details.retryAfter).toBe(1);
    await throttle.check('bob', '10.9.9.9');
    clock += 1000;
    await throttle.check('alice', '10.9.9.9');
    await throttle.fail('alice', '10.0.0.9');
    await expect(throttle.check('alice')).rejects.toSatisfy(throttled);
    clock += 1999;
    await expect(throttle.check('alice')).rejects.toSatisfy(throttled);
    clock += 1;
    await throttle.check('alice');
  });

  it('locks a source address that tries many usernames', async () => {
    for (let i = 0; i < 4; i++) await throttle.fail(`user-${i}`, '192.0.2.7');
    await expect(throttle.check('someone-else', '192.0.2.7')).rejects.toSatisfy(throttled);
    await throttle.check('someone-else', '192.0.2.8');
  });

  it('resets the user and the address on success', async () => {
    for (let i = 0; i < 6; i++) await throttle.fail('alice', '192.0.2.7');
    await expect(throttle.check('alice', '192.0.2.7')).rejects.toSatisfy(throttled);
    await throttle.reset('alice', '192.0.2.7');
    await throttle.check('alice', '192.0.2.7');
    await throttle.fail('alice', '192.0.2.7');
    await throttle.check('alice', '192.0.2.7');
  });

  it('counts concurrent failures from several nodes without losing any', async () => {
    const other = createLoginThrottle({ db: opened.store.db, now: () => clock });
    await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? throttle : other).fail('alice')));
    const row = await opened.store.db.selectFrom('login_throttle').selectAll().where('key', '=', 'user:alice').executeTakeFirstOrThrow();
    expect(Number(row.failures)).toBe(8);
    expect(Number(row.locked_until)).toBe(clock + 16_000);
  });
});
