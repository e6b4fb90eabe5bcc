/**
 * The `file` seal: the root key is the raw 32 bytes of a 0600 file at the configured path. This is the
 * one place the root key is on disk unwrapped, so its protection is the file's permissions: unseal
 * refuses a symlink, a non-regular file, a file with any group/other permission bit, and a file that
 * is not exactly 32 bytes. Suitable for development and for hosts whose disk is already protected.
 */
import { randomBytes } from 'node:crypto';

import type { SealConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import type { Seal } from './seal.js';
import { readSealFile, sealPathExists, writeSealFileExclusive } from './seal-file.js';
import { ROOT_KEY_BYTES } from './seal-material.js';

export type FileSealConfig = Extract<SealConfig, { kind: 'file' }>;

export function createFileSeal(config: FileSealConfig): Seal {
  const { path } = config;
  return {
    kind: 'file',
    exists: () => sealPathExists(path),
    async initialize() {
      const rootKey = randomBytes(ROOT_KEY_BYTES);
      try {
        await writeSealFileExclusive(path, rootKey);
      } catch (err) {
        rootKey.fill(0);
        throw err;
      }
      return rootKey;
    },
    async unseal() {
      const bytes = await readSealFile(path, ROOT_KEY_BYTES);
      if (bytes.length !== ROOT_KEY_BYTES) {
        bytes.fill(0);
        throw new WardenError('WARDEN_SEAL_UNSEAL_FAILED', `unseal failed: seal file ${path} is corrupted (wrong size)`, {
          details: { path },
        });
      }
      return bytes;
    },
  };
}
