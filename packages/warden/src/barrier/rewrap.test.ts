/**
 * Rewrap tests on both backends: every value moves to the latest version and still decrypts, progress
 * is reported, values already current are left alone, and compare-and-set never overwrites a value
 * written between rewrap's read and its write.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBarrierKeyringRepository, createSecretRepository, protectedColumns, type SecretRepository } from '../store/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { openBarrier, rewrap, rewrapValue, type Barrier } from './index.js';

const at = (name: string) => ({ table: 'secrets', column: 'value', row: name });

describe.each(storeBackends)('rewrap on $name', (backend) => {
  let opened: OpenedTestStore;
  let barrier: Barrier;
  let secrets: SecretRepository;
  const put = (name: string, text: string) => secrets.put(name, barrier.encrypt(Buffer.from(text), at(name)));
  const read = async (name: string) => (await barrier.decrypt((await secrets.get(name)).value, at(name))).toString();
  const versions = async () =>
    Promise.all((await secrets.listNames()).map(async (n) => barrier.versionOf((await secrets.get(n)).value)));

  beforeEach(async () => {
    opened = await backend.openMigrated();
    barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(opened.store.db) });
    secrets = createSecretRepository(opened.store.db);
  });
  afterEach(async () => {
    barrier.close();
    await opened.cleanup();
  });

  it('moves every value to the latest version in batches, reporting progress', async () => {
    for (let i = 0; i < 7; i++) await put(`s${i}`, `value-${i}`);
    await barrier.rotate();
    await put('s7', 'value-7'); // already under version 2
    await barrier.rotate();
    const progress: [number, number][] = [];
    const result = await rewrap({
      db: opened.store.db,
      barrier,
      batchSize: 3,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(result).toEqual({ total: 8, rewrapped: 8 });
    expect(progress).toEqual([
      [0, 8],
      [3, 8],
      [6, 8],
      [8, 8],
    ]);
    expect(await versions()).toEqual(Array.from({ length: 8 }, () => 3));
    for (let i = 0; i < 8; i++) expect(await read(`s${i}`)).toBe(`value-${i}`);

    // A second run finds nothing to do.
    expect(await rewrap({ db: opened.store.db, barrier })).toEqual({ total: 8, rewrapped: 0 });
  });

  it('handles an empty table', async () => {
    expect(await rewrap({ db: opened.store.db, barrier, columns: protectedColumns })).toEqual({ total: 0, rewrapped: 0 });
  });

  it('rewrapValue does not overwrite a value changed since it was read (compare-and-set)', async () => {
    await put('k', 'old');
    const { value: readValue } = await secrets.get('k');
    await barrier.rotate();
    await put('k', 'written concurrently');
    const column = protectedColumns[0]!;
    expect(await rewrapValue({ db: opened.store.db, barrier, column, row: { key: 'k', value: readValue } })).toBe(false);
    expect(await read('k')).toBe('written concurrently');
  });

  it('rewrap skips a row written between its read and its write', async () => {
    await put('a', 'a-old');
    await put('b', 'b-old');
    await barrier.rotate();
    // A barrier whose decrypt lets another writer in between rewrap's read and its compare-and-set.
    let raced = false;
    const racing = {
      latestVersion: barrier.latestVersion,
      versionOf: (c: Uint8Array) => barrier.versionOf(c),
      encrypt: (p: Uint8Array, c: { table: string; column: string; row: string }) => barrier.encrypt(p, c),
      async decrypt(c: Uint8Array, context: { table: string; column: string; row: string }) {
        if (context.row === 'a' && !raced) {
          raced = true;
          await put('a', 'a-new'); // another writer replaces a after rewrap read it
        }
        return barrier.decrypt(c, context);
      },
    };
    const result = await rewrap({ db: opened.store.db, barrier: racing });
    expect(raced).toBe(true);
    expect(result).toEqual({ total: 2, rewrapped: 1 });
    expect(await read('a')).toBe('a-new');
    expect(await read('b')).toBe('b-old');
  });
});
