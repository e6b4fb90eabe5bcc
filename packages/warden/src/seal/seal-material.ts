/**
 * Shared seal constants and the JSON envelope used by the passphrase and pkcs11 seals: strict base64 fields of an exact byte
 * length, parsing with zod, and the rule that anything malformed is reported as the same generic
 * WARDEN_SEAL_UNSEAL_FAILED as a wrong secret (a tampered file gets no more detail than a wrong
 * passphrase does).
 */
import { z } from 'zod';

import { WardenError } from '../errors/index.js';

/** Length of the root key in bytes. */
export const ROOT_KEY_BYTES = 32;

/** Largest seal JSON file we will read; real ones are a few hundred bytes. */
export const MAX_SEAL_JSON_BYTES = 16 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A zod schema for canonical base64 decoding to exactly `bytes` bytes; outputs a Buffer. */
export function base64Bytes(bytes: number) {
  return z
    .string()
    .max(4 * Math.ceil(bytes / 3))
    .regex(BASE64)
    .transform((s) => Buffer.from(s, 'base64'))
    .refine((b) => b.length === bytes, `must decode to ${bytes} bytes`);
}

/** The generic unseal failure for corrupt or tampered material. */
export function corruptSeal(path: string, secret: 'passphrase' | 'PIN', cause?: unknown): WardenError {
  return new WardenError('WARDEN_SEAL_UNSEAL_FAILED', `unseal failed: wrong ${secret} or corrupted seal`, {
    cause,
    details: { path },
  });
}

/** Parse seal JSON against `schema`; anything malformed is WARDEN_SEAL_UNSEAL_FAILED. */
export function parseSealJson<S extends z.ZodType>(
  bytes: Buffer,
  schema: S,
  path: string,
  secret: 'passphrase' | 'PIN',
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corruptSeal(path, secret);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw corruptSeal(path, secret);
  return parsed.data;
}

/** Serialize seal JSON (pretty, trailing newline) as bytes ready to write. */
export function encodeSealJson(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}
