/**
 * Mapping of driver errors to Warden errors for the store. Driver messages can carry SQL text or
 * connection details, so they only ever travel as `cause` (for logs); the WardenError message is fixed.
 */
import { WardenError } from '../errors/index.js';

/** True when `err` is a unique or primary-key violation from better-sqlite3 or pg. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function storeUnavailable(cause: unknown): WardenError {
  return new WardenError('WARDEN_STORE_UNAVAILABLE', 'the store is unavailable', { cause });
}

export function storeConflict(what: string, cause: unknown): WardenError {
  return new WardenError('WARDEN_STORE_CONFLICT', `${what} already exists`, { cause });
}
