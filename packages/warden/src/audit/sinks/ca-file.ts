/**
 * Reading the CA bundle a sink config names (syslog over TLS, HTTPS). It is read once, when the sink is
 * built, so a missing or unreadable file stops startup with WARDEN_CONFIG_INVALID instead of failing
 * every export later; replacing the CA takes a restart.
 */
import { readFileSync } from 'node:fs';
import { WardenError } from '../../errors/index.js';

/** The PEM text of the CA bundle at `path`; throws WARDEN_CONFIG_INVALID when it cannot be read. */
export function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new WardenError('WARDEN_CONFIG_INVALID', `audit sink CA file cannot be read: ${path}`, {
      cause: err,
      details: { path },
    });
  }
}
