/**
 * WardenError: the one error type that crosses module boundaries. It carries a catalog code and a
 * message that is safe to show to the caller (never a stack, SQL text, secret or internal detail);
 * the underlying cause, if any, is kept for logs only.
 */
import { errorCatalog, type ErrorCode } from './catalog.js';

export class WardenError extends Error {
  override readonly name = 'WardenError';
  readonly code: ErrorCode;
  /** Machine-readable extras safe to return to the caller (e.g. the offending config key path). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return errorCatalog[this.code].status;
  }

  get exitCode(): 1 | 2 {
    return errorCatalog[this.code].exitCode;
  }
}

/** True when `err` is a WardenError, optionally with the given code. */
export function isWardenError(err: unknown, code?: ErrorCode): err is WardenError {
  return err instanceof WardenError && (code === undefined || err.code === code);
}
