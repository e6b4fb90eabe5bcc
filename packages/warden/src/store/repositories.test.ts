/**
 * Repository tests, run on both backends: the barrier keyring (list, insert, conflict) and secrets
 * (upsert, get, find, list, delete, not found).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createBarrierKeyringRepository, createSecretRepository } from './index.js';

const code = (c: Parameters<typeof isWardenError>[1]) => (e: unknown) => isWardenError(e, c);

describe.each(storeBackends)('repositories on $name', (backend) => {
  let opened: OpenedTestStore;
  beforeEach(async () => {
    opened = await backend.openMigrated();
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  describe('barrier keyring', () => {
    it('starts empty, lists versions oldest first', async () => {
      const keyring = createBarrierKeyringRepository(opened.store.db);
      expect(await keyring.list()).toEqual([]);
      await keyring.insert({ version: 2, wrapped: new Uint8Array([2, 2]), createdAt: 20 });
      await keyring.insert({ version: 1, wrapped: Buffer.from([1]), createdAt: 10 });
      const versions = await keyring.list();
      expect(versions.map((v) => [v.version, [...v.wrapped], v.createdAt])).toEqual([
        [1, [1], 10],
        [2, [2, 2], 20],
      ]);
      expect(Buffer.isBuffer(versions[0]!.wrapped)).toBe(true);
    });

    it('throws WARDEN_STORE_CONFLICT on an existing version and keeps the original', async () => {
      const keyring = createBarrierKeyringRepository(opened.store.db);
      await keyring.insert({ version: 1, wrapped: Buffer.from('a') });
      await expect(keyring.insert({ version: 1, wrapped: Buffer.from('b') })).rejects.toSatisfy(
        code('WARDEN_STORE_CONFLICT'),
      );
      const versions = await keyring.list();
      expect(versions.map((v) => v.wrapped.toString())).toEqual(['a']);
    });
  });

  describe('secrets', () => {
    it('puts, gets, replaces and lists', async () => {
      const secrets = createSecretRepository(opened.store.db);
      await secrets.put('b', Buffer.from('one'));
      await secrets.put('a', new Uint8Array([9]));
      const first = await secrets.get('b');
      expect(first.value.toString()).toBe('one');
      expect(first.createdAt).toBe(first.updatedAt);
      await new Promise((r) => setTimeout(r, 5));
      await secrets.put('b', Buffer.from('two'));
      const second = await secrets.get('b');
      expect(second.value.toString()).toBe('two');
      expect(second.createdAt).toBe(first.createdAt);
      expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
      expect(await secrets.listNames()).toEqual(['a', 'b']);
    });

    it('get and delete of a missing name throw WARDEN_NOT_FOUND; find returns undefined', async () => {
      const secrets = createSecretRepository(opened.store.db);
      await expect(secrets.get('missing')).rejects.toSatisfy(code('WARDEN_NOT_FOUND'));
      await expect(secrets.delete('missing')).rejects.toSatisfy(code('WARDEN_NOT_FOUND'));
      expect(await secrets.find('missing')).toBeUndefined();
    });

    it('deletes', async () => {
      const secrets = createSecretRepository(opened.store.db);
      await secrets.put('x', Buffer.from('1'));
      await secrets.delete('x');
      expect(await secrets.find('x')).toBeUndefined();
      expect(await secrets.listNames()).toEqual([]);
    });
  });
});
