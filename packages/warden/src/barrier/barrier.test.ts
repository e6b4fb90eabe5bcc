/**
 * Barrier tests on both backends: round trip, context binding, tamper and truncation, wrong root key,
 * rotation, a second node that learns a new version by reloading, and close.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { createBarrierKeyringRepository, createSecretRepository } from '../store/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { openBarrier, type Barrier } from './index.js';

const failed = (e: unknown) => isWardenError(e, 'WARDEN_BARRIER_DECRYPT_FAILED') && (e as Error).message === 'decryption failed';
const ctx = { table: 'secrets', column: 'value', row: 'db-password' };
const text = (b: Buffer) => b.toString('utf8');

describe.each(storeBackends)('barrier on $name', (backend) => {
  let opened: OpenedTestStore;
  let rootKey: Buffer;
  let barrier: Barrier;
  const open = (key = rootKey) => openBarrier({ rootKey: key, keyring: createBarrierKeyringRepository(opened.store.db) });

  beforeEach(async () => {
    opened = await backend.openMigrated();
    rootKey = randomBytes(32);
    barrier = await open();
  });
  afterEach(async () => {
    barrier.close();
    await opened.cleanup();
  });

  it('creates version 1 in an empty keyring and round-trips values', async () => {
    expect(barrier.latestVersion).toBe(1);
    const ciphertext = barrier.encrypt(Buffer.from('s3cret'), ctx);
    expect(ciphertext.length).toBe(1 + 4 + 12 + 6 + 16);
    expect(ciphertext[0]).toBe(1);
    expect(barrier.versionOf(ciphertext)).toBe(1);
    expect(text(await barrier.decrypt(ciphertext, ctx))).toBe('s3cret');
    expect((await barrier.decrypt(barrier.encrypt(new Uint8Array(0), ctx), ctx)).length).toBe(0);
  });

  it('uses a fresh IV each time', () => {
    const a = barrier.encrypt(Buffer.from('same'), ctx);
    const b = barrier.encrypt(Buffer.from('same'), ctx);
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a ciphertext moved to another row, column or table', async () => {
    const ciphertext = barrier.encrypt(Buffer.from('s3cret'), ctx);
    for (const other of [
      { ...ctx, row: 'other' },
      { ...ctx, column: 'other' },
      { ...ctx, table: 'other' },
      // Ambiguity check: the encoding must not let fields run into each other.
      { table: 'secrets', column: 'valu', row: 'edb-password' },
    ]) {
      await expect(barrier.decrypt(ciphertext, other)).rejects.toSatisfy(failed);
    }
  });

  it('refuses any tampered byte, truncation, extension and a bad format byte', async () => {
    const ciphertext = barrier.encrypt(Buffer.from('tamper me please'), ctx);
    for (let i = 0; i < ciphertext.length; i++) {
      const copy = Buffer.from(ciphertext);
      copy[i]! ^= 0x01;
      await expect(barrier.decrypt(copy, ctx)).rejects.toSatisfy(failed);
    }
    for (const length of [0, 1, 5, 17, 32, ciphertext.length - 1]) {
      await expect(barrier.decrypt(ciphertext.subarray(0, length), ctx)).rejects.toSatisfy(failed);
    }
    await expect(barrier.decrypt(Buffer.concat([ciphertext, Buffer.of(0)]), ctx)).rejects.toSatisfy(failed);
    expect(() => barrier.versionOf(Buffer.of(1, 0))).toThrow('decryption failed');
  });

  it('refuses an unknown version even after reloading', async () => {
    const ciphertext = barrier.encrypt(Buffer.from('x'), ctx);
    ciphertext.writeUInt32BE(99, 1);
    await expect(barrier.decrypt(ciphertext, ctx)).rejects.toSatisfy(failed);
  });

  it('refuses a wrong root key at open', async () => {
    await expect(open(randomBytes(32))).rejects.toSatisfy(failed);
  });

  it('reopens with the same root key and decrypts old values', async () => {
    const ciphertext = barrier.encrypt(Buffer.from('persisted'), ctx);
    const again = await open();
    try {
      expect(text(await again.decrypt(ciphertext, ctx))).toBe('persisted');
    } finally {
      again.close();
    }
  });

  it('rotates: new values use the new version, old values still decrypt', async () => {
    const old = barrier.encrypt(Buffer.from('old'), ctx);
    expect(await barrier.rotate()).toBe(2);
    expect(barrier.latestVersion).toBe(2);
    const fresh = barrier.encrypt(Buffer.from('new'), ctx);
    expect(barrier.versionOf(fresh)).toBe(2);
    expect(text(await barrier.decrypt(old, ctx))).toBe('old');
    expect(text(await barrier.decrypt(fresh, ctx))).toBe('new');
    expect((await createBarrierKeyringRepository(opened.store.db).list()).map((v) => v.version)).toEqual([1, 2]);
  });

  it('a second node decrypts a value under a version it has not seen by reloading once', async () => {
    const nodeB = await open();
    try {
      expect(await barrier.rotate()).toBe(2);
      const fresh = barrier.encrypt(Buffer.from('from node A'), ctx);
      expect(nodeB.latestVersion).toBe(1);
      expect(text(await nodeB.decrypt(fresh, ctx))).toBe('from node A');
      expect(nodeB.latestVersion).toBe(2);
      // Node B rotating next must not collide with node A's version 2.
      expect(await nodeB.rotate()).toBe(3);
    } finally {
      nodeB.close();
    }
  });

  it('two nodes opening an empty keyring at once agree on version 1', async () => {
    const other = await backend.openMigrated();
    try {
      const keyring = createBarrierKeyringRepository(other.store.db);
      const [a, b] = await Promise.all([openBarrier({ rootKey, keyring }), openBarrier({ rootKey, keyring })]);
      expect(text(await b.decrypt(a.encrypt(Buffer.from('v1'), ctx), ctx))).toBe('v1');
      expect((await keyring.list()).map((v) => v.version)).toEqual([1]);
      a.close();
      b.close();
    } finally {
      await other.cleanup();
    }
  });

  it('works with the secret repository', async () => {
    const secrets = createSecretRepository(opened.store.db);
    const context = { table: 'secrets', column: 'value', row: 'api-key' };
    await secrets.put('api-key', barrier.encrypt(Buffer.from('abc'), context));
    const { value } = await secrets.get('api-key');
    expect(text(await barrier.decrypt(value, context))).toBe('abc');
  });

  it('zeroes keys on close and refuses use afterwards', async () => {
    const ciphertext = barrier.encrypt(Buffer.from('x'), ctx);
    barrier.close();
    expect(() => barrier.encrypt(Buffer.from('x'), ctx)).toThrow('the barrier is closed');
    await expect(barrier.decrypt(ciphertext, ctx)).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_SEALED'));
  });
});

describe('barrier input checks', () => {
  it('rejects a root key that is not 32 bytes', async () => {
    const keyring = { list: () => Promise.resolve([]), insert: () => Promise.resolve() };
    await expect(openBarrier({ rootKey: randomBytes(16), keyring })).rejects.toSatisfy((e) =>
      isWardenError(e, 'WARDEN_INTERNAL'),
    );
  });

  it('keeps its own copy of the root key', async () => {
    const stored: { version: number; wrapped: Buffer; createdAt: number }[] = [];
    const keyring = {
      list: () => Promise.resolve([...stored]),
      insert: (r: { version: number; wrapped: Uint8Array }) => {
        stored.push({ version: r.version, wrapped: Buffer.from(r.wrapped), createdAt: 0 });
        return Promise.resolve();
      },
    };
    const rootKey = randomBytes(32);
    const barrier = await openBarrier({ rootKey, keyring });
    rootKey.fill(0);
    expect(await barrier.rotate()).toBe(2);
    barrier.close();
  });
});
