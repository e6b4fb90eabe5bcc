/**
 * Seal material on disk: the one place that reads and writes the file at a seal's `path`. Writing is
 * all-or-nothing and exclusive (the bytes go to a private temporary file in the same directory, are
 * fsynced, then hard-linked into place, which fails if anything already exists there), so an
 * interrupted or failed initialize leaves no partial file behind and never replaces existing
 * material. Reading refuses symlinks and anything but a regular file, refuses a file that group or
 * others can read or write (WARDEN_SEAL_FILE_PERMISSIONS), and caps how much it reads. The checks
 * are made on the opened descriptor (O_NOFOLLOW + fstat), so the file cannot be swapped between
 * check and read.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { link, lstat, open, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { WardenError } from '../errors/index.js';

/** Mode every seal file is created with: owner read/write only. */
export const SEAL_FILE_MODE = 0o600;

/** True when anything (file, directory or symlink) exists at `path`; never follows a symlink. */
export async function sealPathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw ioError('could not check seal material', path, err);
  }
}

/**
 * Read the seal material at `path` after checking it is a regular file (not a symlink) with no
 * group/other permission bits and at most `maxBytes` long. Never writes.
 */
export async function readSealFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      throw new WardenError('WARDEN_NOT_INITIALIZED', `seal material not found at ${path}: run \`warden init\` first`, {
        details: { path },
      });
    }
    if (code === 'ELOOP') {
      throw new WardenError('WARDEN_SEAL_FILE_PERMISSIONS', `seal file ${path} is a symlink; it must be a regular file`, {
        details: { path },
      });
    }
    throw ioError('could not open seal material', path, err);
  }
  try {
    const stats = await handle.stat();
    assertSafeStats(path, stats);
    if (stats.size > maxBytes) {
      throw new WardenError('WARDEN_SEAL_UNSEAL_FAILED', 'unseal failed: seal material is corrupted', { details: { path } });
    }
    const buf = Buffer.alloc(maxBytes + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) {
        throw new WardenError('WARDEN_SEAL_UNSEAL_FAILED', 'unseal failed: seal material is corrupted', { details: { path } });
      }
    }
    const out = Buffer.from(buf.subarray(0, total));
    buf.fill(0);
    return out;
  } finally {
    await handle.close();
  }
}

/**
 * Write `data` to `path` with mode 0600, exclusively: WARDEN_SEAL_EXISTS if anything is already
 * there. On any failure nothing is left at `path`.
 */
export async function writeSealFileExclusive(path: string, data: Uint8Array): Promise<void> {
  if (await sealPathExists(path)) throw sealExists(path);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let tmpCreated = false;
  try {
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, SEAL_FILE_MODE);
    tmpCreated = true;
    try {
      // The umask can only clear bits, but be explicit: the file is 0600 whatever the umask.
      await handle.chmod(SEAL_FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // link(2) fails with EEXIST if anything appeared at `path` meanwhile: exclusive and atomic.
      await link(tmp, path);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw sealExists(path);
      throw ioError('could not write seal material', path, err);
    }
    await syncDir(dir);
  } catch (err) {
    if (err instanceof WardenError) throw err;
    throw ioError('could not write seal material', path, err);
  } finally {
    if (tmpCreated) await unlink(tmp).catch(() => undefined);
  }
}

function assertSafeStats(path: string, stats: Stats): void {
  if (!stats.isFile()) {
    throw new WardenError('WARDEN_SEAL_FILE_PERMISSIONS', `seal file ${path} is not a regular file`, { details: { path } });
  }
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new WardenError(
      'WARDEN_SEAL_FILE_PERMISSIONS',
      `seal file ${path} has mode ${mode}; it must not be accessible by group or others (chmod 600)`,
      { details: { path, mode } },
    );
  }
}

async function syncDir(dir: string): Promise<void> {
  // Durability of the new directory entry; best effort (not every filesystem supports it).
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // ignored: the seal file itself was fsynced
  }
}

function sealExists(path: string): WardenError {
  return new WardenError('WARDEN_SEAL_EXISTS', `seal material already exists at ${path}; refusing to overwrite it`, {
    details: { path },
  });
}

function ioError(what: string, path: string, cause: unknown): WardenError {
  const code = errnoCode(cause);
  return new WardenError('WARDEN_INTERNAL', `${what} at ${path}${code === undefined ? '' : ` (${code})`}`, {
    cause,
    details: { path },
  });
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
