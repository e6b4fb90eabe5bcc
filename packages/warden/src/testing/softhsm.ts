/**
 * Test helper: a real, throwaway SoftHSM2 token. `createSoftHsmToken` makes a temporary directory
 * with its own softhsm2.conf, points SOFTHSM2_CONF at it (SoftHSM2 reads it at C_Initialize, so this
 * must happen before the library is initialized in this process), and initializes a token with random
 * user and SO PINs via `softhsm2-util`. If SoftHSM2 is not installed it throws: tests that need an HSM
 * fail loudly rather than skip. `withSoftHsmSession`/`openSoftHsmSession` give tests a logged-in graphene session for
 * inspecting or preparing objects in the token.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Module, SessionFlag, UserType, type Session } from 'graphene-pk11';

const execFileAsync = promisify(execFile);

export const DEFAULT_SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  /** Absolute path of the PKCS#11 library. */
  library: string;
  /** Token label as given. */
  label: string;
  /** Random user PIN. */
  pin: string;
  /** Random security-officer PIN. */
  soPin: string;
  /** Temporary directory holding softhsm2.conf and tokens/. */
  dir: string;
  /** Remove the directory and restore the previous SOFTHSM2_CONF. */
  cleanup(): Promise<void>;
}

/** The SoftHSM2 library to test against: $WARDEN_TEST_SOFTHSM_LIB or the Debian/Ubuntu default. */
export function softHsmLibrary(): string {
  return process.env.WARDEN_TEST_SOFTHSM_LIB ?? DEFAULT_SOFTHSM_LIBRARY;
}

export async function createSoftHsmToken(options: { label: string }): Promise<SoftHsmToken> {
  const library = softHsmLibrary();
  try {
    await access(library, constants.R_OK);
  } catch {
    throw new Error(
      `SoftHSM2 library not found at ${library}: install softhsm2 (apt-get install softhsm2) or set WARDEN_TEST_SOFTHSM_LIB`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'warden-softhsm-'));
  const previousConf = process.env.SOFTHSM2_CONF;
  const cleanup = async () => {
    if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previousConf;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const tokenDir = join(dir, 'tokens');
    await mkdir(tokenDir, { mode: 0o700 });
    const conf = join(dir, 'softhsm2.conf');
    await writeFile(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, {
      mode: 0o600,
    });
    process.env.SOFTHSM2_CONF = conf;
    const pin = randomBytes(12).toString('hex');
    const soPin = randomBytes(12).toString('hex');
    try {
      await execFileAsync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', options.label, '--pin', pin, '--so-pin', soPin],
        { env: { ...process.env, SOFTHSM2_CONF: conf } },
      );
    } catch (err) {
      throw new Error(`softhsm2-util --init-token failed (is softhsm2 installed?): ${(err as Error).message}`, { cause: err });
    }
    return { library, label: options.label, pin, soPin, dir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Run `fn` with a logged-in RW session on `token`, then log out, close and finalize. */
export function withSoftHsmSession<T>(token: SoftHsmToken, fn: (session: Session) => T): T {
  const { session, release } = openSoftHsmSession(token);
  try {
    return fn(session);
  } finally {
    release();
  }
}

/**
 * Open a logged-in RW session on `token`; `release()` logs out, closes and finalizes. Useful for
 * tests that need Cryptoki to stay initialized in this process while something else runs.
 */
export function openSoftHsmSession(token: SoftHsmToken): { session: Session; release(): void } {
  const mod = Module.load(token.library);
  mod.initialize();
  try {
    const slot = Array.from(mod.getSlots(true)).find((s) => s.getToken().label === token.label);
    if (slot === undefined) throw new Error(`SoftHSM token "${token.label}" not found`);
    const session = slot.open(SessionFlag.RW_SESSION | SessionFlag.SERIAL_SESSION);
    session.login(token.pin, UserType.USER);
    return {
      session,
      release() {
        try {
          session.logout();
        } catch {
          // already logged out
        }
        session.close();
        mod.finalize();
        mod.close();
      },
    };
  } catch (err) {
    mod.finalize();
    mod.close();
    throw err;
  }
}
