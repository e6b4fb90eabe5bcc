/**
 * Benchmark: barrier encrypt and decrypt of 1 KiB values against raw node:crypto AES-256-GCM
 * (createCipheriv with a random IV) in the same run. The barrier adds the header, the context AAD, and
 * (for decrypt) an async call; the keyring is in memory because encrypt/decrypt never touch the store.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { afterAll, bench, describe } from 'vitest';
import { openBarrier } from '../src/barrier/index.js';
import type { BarrierKeyRecord, BarrierKeyringRepository } from '../src/store/index.js';

const records: BarrierKeyRecord[] = [];
const keyring: BarrierKeyringRepository = {
  list: () => Promise.resolve([...records]),
  insert: ({ version, wrapped }) => {
    records.push({ version, wrapped: Buffer.from(wrapped), createdAt: Date.now() });
    return Promise.resolve();
  },
};
const barrier = await openBarrier({ rootKey: randomBytes(32), keyring });
afterAll(() => barrier.close());

const value = randomBytes(1024);
const context = { table: 'secrets', column: 'value', row: 'bench-secret' };
const barrierCiphertext = barrier.encrypt(value, context);

const rawKey = randomBytes(32);
function rawEncrypt(plaintext: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', rawKey, iv);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}
function rawDecrypt(ciphertext: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', rawKey, ciphertext.subarray(0, 12));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  return Buffer.concat([decipher.update(ciphertext.subarray(12, ciphertext.length - 16)), decipher.final()]);
}
const rawCiphertext = rawEncrypt(value);

const options = { time: 1000, warmupTime: 200 };

describe('encrypt 1 KiB', () => {
  bench('baseline: node:crypto AES-256-GCM', () => {
    rawEncrypt(value);
  }, options);
  bench('warden: barrier.encrypt', () => {
    barrier.encrypt(value, context);
  }, options);
});

describe('decrypt 1 KiB', () => {
  bench('baseline: node:crypto AES-256-GCM', () => {
    rawDecrypt(rawCiphertext);
  }, options);
  bench('warden: barrier.decrypt', async () => {
    await barrier.decrypt(barrierCiphertext, context);
  }, options);
});
