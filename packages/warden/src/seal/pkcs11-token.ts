/**
 * What the pkcs11 seal and the HSM-resident KMS keys share about a PKCS#11 token: finding the one slot
 * whose token carries the configured label, and mapping PKCS#11 failures to Warden's errors (a wrong
 * PIN is WARDEN_SEAL_UNSEAL_FAILED; a missing, locked or unreachable token WARDEN_SEAL_HSM_UNAVAILABLE,
 * with the CKR_* name in the message and the library and token label in the details).
 */
import type { Module, Slot } from 'graphene-pk11';
import { WardenError } from '../errors/index.js';

/** The library and token a PKCS#11 user names. */
export interface TokenConfig {
  library: string;
  tokenLabel: string;
}

/** The one slot whose token is labelled `config.tokenLabel`; refuses when there is none or more than one. */
export function findTokenSlot(mod: Module, config: TokenConfig): Slot {
  const wanted = config.tokenLabel.trim();
  let slots;
  try {
    slots = mod.getSlots(true);
  } catch (err) {
    throw hsmUnavailable('could not list PKCS#11 slots', config, err);
  }
  const matches: Slot[] = [];
  for (const slot of slots) {
    try {
      // graphene strips the blank padding of CK_TOKEN_INFO.label; trim again to be sure.
      if (slot.getToken().label.trim() === wanted) matches.push(slot);
    } catch {
      // a slot whose token cannot be read is not ours
    }
  }
  const [slot, ...more] = matches;
  if (slot === undefined) throw hsmUnavailable(`HSM token "${config.tokenLabel}" not found`, config);
  if (more.length > 0) throw hsmUnavailable(`more than one HSM token is labelled "${config.tokenLabel}"`, config);
  return slot;
}

/** A failed C_Login: `wrongPin` is the message for a wrong PIN (the seal words it for unsealing). */
export function loginError(cause: unknown, config: TokenConfig, wrongPin = 'HSM login failed: wrong PIN'): WardenError {
  switch (ckr(cause)) {
    case 'CKR_PIN_INCORRECT':
    case 'CKR_PIN_INVALID':
    case 'CKR_PIN_LEN_RANGE':
      return new WardenError('WARDEN_SEAL_UNSEAL_FAILED', wrongPin, { cause, details: { tokenLabel: config.tokenLabel } });
    case 'CKR_PIN_LOCKED':
      return hsmUnavailable(`the user PIN of HSM token "${config.tokenLabel}" is locked`, config, cause);
    case 'CKR_USER_PIN_NOT_INITIALIZED':
      return hsmUnavailable(`HSM token "${config.tokenLabel}" has no user PIN set`, config, cause);
    default:
      return hsmUnavailable(`could not log in to HSM token "${config.tokenLabel}"`, config, cause);
  }
}

export function hsmUnavailable(message: string, config: TokenConfig, cause?: unknown): WardenError {
  const code = cause === undefined ? undefined : ckr(cause);
  return new WardenError('WARDEN_SEAL_HSM_UNAVAILABLE', code === undefined ? message : `${message} (${code})`, {
    cause,
    details: { library: config.library, tokenLabel: config.tokenLabel },
  });
}

/** The CKR_* name of a pkcs11js error, if it is one. */
export function ckr(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  return /\bCKR_[A-Z0-9_]+/.exec(message)?.[0];
}

/** Runs a teardown step, ignoring its failure (best effort). */
export function ignoreErrors(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // teardown is best effort
  }
}
