/**
 * The `passphrase` seal: the root key is random and is stored only wrapped with AES-256-GCM under a
 * key-encryption key derived from the operator's passphrase with scrypt (default N=2^17, r=8, p=1,
 * 16-byte random salt). The seal material is a small JSON file (0600) holding the KDF parameters,
 * IV, ciphertext and tag. Reading validates the JSON strictly and caps N at 2^20, so a tampered file
 * can neither crash the parser nor make scrypt burn unbounded memory/CPU. A wrong passphrase and a
 * tampered file fail the same way (GCM authentication) with the same generic message.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';

import type { SealConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import type { Seal } from './seal.js';
import { readSealFile, sealPathExists, writeSealFileExclusive } from './seal-file.js';
import {
  base64Bytes,
  corruptSeal,
  encodeSealJson,
  MAX_SEAL_JSON_BYTES,
  parseSealJson,
  ROOT_KEY_BYTES,
} from './seal-material.js';

export type PassphraseSealConfig = Extract<SealConfig, { kind: 'passphrase' }>;

/** Default scrypt cost for new seals. */
export const DEFAULT_SCRYPT_COST = 2 ** 17;
/** Smallest and largest scrypt N accepted (for new seals and when reading a seal file). */
export const MIN_SCRYPT_COST = 2 ** 10;
export const MAX_SCRYPT_COST = 2 ** 20;
/** Shortest passphrase accepted when creating a seal, in Unicode code points. */
export const MIN_PASSPHRASE_LENGTH = 12;

const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('warden-seal:passphrase:v1', 'utf8');

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

const scryptCostSchema = z
  .number()
  .int()
  .min(MIN_SCRYPT_COST)
  .max(MAX_SCRYPT_COST)
  .refine(isPowerOfTwo, 'must be a power of two');

const passphraseSealFileSchema = z.strictObject({
  version: z.literal(1),
  kind: z.literal('passphrase'),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    N: scryptCostSchema,
    r: z.literal(SCRYPT_R),
    p: z.literal(SCRYPT_P),
    salt: base64Bytes(SALT_BYTES),
  }),
  iv: base64Bytes(IV_BYTES),
  ciphertext: base64Bytes(ROOT_KEY_BYTES),
  tag: base64Bytes(TAG_BYTES),
});

export function createPassphraseSeal(
  config: PassphraseSealConfig,
  passphrase: string | undefined,
  scryptCost: number = DEFAULT_SCRYPT_COST,
): Seal {
  const { path } = config;
  if (!scryptCostSchema.safeParse(scryptCost).success) {
    throw new WardenError(
      'WARDEN_CONFIG_INVALID',
      `scrypt cost must be a power of two between ${MIN_SCRYPT_COST} and ${MAX_SCRYPT_COST}`,
    );
  }

  /** The passphrase, NFC-normalized (so the same words typed on another OS unseal too). */
  function requirePassphrase(): string {
    if (passphrase === undefined || passphrase === '') {
      throw new WardenError('WARDEN_SEAL_SECRET_MISSING', 'seal passphrase is missing', {
        details: { env: config.passphraseEnv },
      });
    }
    return passphrase.normalize('NFC');
  }

  return {
    kind: 'passphrase',
    exists: () => sealPathExists(path),

    async initialize() {
      const normalized = requirePassphrase();
      if ([...normalized].length < MIN_PASSPHRASE_LENGTH) {
        throw new WardenError(
          'WARDEN_SEAL_SECRET_MISSING',
          `passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`,
          { details: { env: config.passphraseEnv } },
        );
      }
      if (await sealPathExists(path)) {
        throw new WardenError('WARDEN_SEAL_EXISTS', `seal material already exists at ${path}; refusing to overwrite it`, {
          details: { path },
        });
      }
      const salt = randomBytes(SALT_BYTES);
      const secret = Buffer.from(normalized, 'utf8');
      const kek = await deriveKek(secret, salt, scryptCost).finally(() => secret.fill(0));
      const rootKey = randomBytes(ROOT_KEY_BYTES);
      const iv = randomBytes(IV_BYTES);
      try {
        const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
        cipher.setAAD(AAD);
        const ciphertext = Buffer.concat([cipher.update(rootKey), cipher.final()]);
        const tag = cipher.getAuthTag();
        const material = encodeSealJson({
          version: 1,
          kind: 'passphrase',
          kdf: { name: 'scrypt', N: scryptCost, r: SCRYPT_R, p: SCRYPT_P, salt: salt.toString('base64') },
          iv: iv.toString('base64'),
          ciphertext: ciphertext.toString('base64'),
          tag: tag.toString('base64'),
        });
        await writeSealFileExclusive(path, material);
        return rootKey;
      } catch (err) {
        rootKey.fill(0);
        throw err;
      } finally {
        kek.fill(0);
      }
    },

    async unseal() {
      const secret = Buffer.from(requirePassphrase(), 'utf8');
      let kek: Buffer | undefined;
      try {
        const raw = await readSealFile(path, MAX_SEAL_JSON_BYTES);
        const material = parseSealJson(raw, passphraseSealFileSchema, path, 'passphrase');
        kek = await deriveKek(secret, material.kdf.salt, material.kdf.N);
        const decipher = createDecipheriv('aes-256-gcm', kek, material.iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(AAD);
        decipher.setAuthTag(material.tag);
        try {
          const rootKey = Buffer.concat([decipher.update(material.ciphertext), decipher.final()]);
          if (rootKey.length !== ROOT_KEY_BYTES) throw corruptSeal(path, 'passphrase');
          return rootKey;
        } catch (err) {
          if (err instanceof WardenError) throw err;
          // GCM authentication failed: wrong passphrase or tampered material. Deliberately generic.
          throw corruptSeal(path, 'passphrase');
        }
      } finally {
        secret.fill(0);
        kek?.fill(0);
      }
    },
  };
}

function deriveKek(secret: Buffer, salt: Buffer, N: number): Promise<Buffer> {
  const options: ScryptOptions = {
    N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    // scrypt needs 128 * N * r * p bytes; allow that plus headroom (Node's default cap is 32 MiB).
    maxmem: 128 * N * SCRYPT_R * SCRYPT_P + 16 * 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, options, (err, key) => {
      if (err) {
        reject(new WardenError('WARDEN_INTERNAL', 'key derivation failed', { cause: err }));
      } else {
        resolve(key);
      }
    });
  });
}
