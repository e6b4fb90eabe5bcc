/**
 * The KMS ciphertext format (`docs/kms.md` has the full description and test vectors):
 *
 *     warden:v<version>:<base64url(body)>
 *     body = format (0x01) | algorithm (0x01 = AES-256-GCM) | key id (16 bytes) | iv (12) | ciphertext | tag (16)
 *     AAD  = "warden:kms:v1" | format | algorithm | key id | version (uint32 BE) | context
 *     context = count (uint32 BE) then, sorted by key bytes, for each pair: len(key) | key | len(value) | value (UTF-8, uint32 BE lengths)
 *
 * Everything that names what a ciphertext is — format, algorithm, key identity, key version — and the
 * caller's encryption context are authenticated: change any of them and decryption fails. (Tink's
 * output prefix is not authenticated; ours is.) The key id is the key's internal identity, not its
 * name, so a key re-created under the same name never opens an old ciphertext. Signatures and MACs use
 * the same prefix, `warden:v<version>:<base64url(bytes)>`, so a verifier knows which version to use.
 * Parsing failures are all the one generic WARDEN_KMS_DECRYPT_FAILED.
 */
import { WardenError } from '../errors/index.js';

export const FORMAT = 0x01;
export const ALG_AES_256_GCM = 0x01;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_ID_BYTES = 16;
const HEADER_BYTES = 2 + KEY_ID_BYTES;
const AAD_LABEL = Buffer.from('warden:kms:v1', 'ascii');
const PREFIX = /^warden:v([1-9][0-9]{0,8}):([A-Za-z0-9_-]+)$/;
/** A context is small: at most this many pairs, each key and value at most 1 KiB. */
export const MAX_CONTEXT_PAIRS = 64;
export const MAX_CONTEXT_ENTRY_BYTES = 1024;

export type EncryptionContext = Readonly<Record<string, string>>;

export interface CiphertextParts {
  keyId: Buffer;
  version: number;
  iv: Buffer;
  /** Ciphertext followed by the 16-byte tag. */
  sealed: Buffer;
}

/** The one error every decrypt failure becomes, whatever the cause. */
export const decryptFailed = (): WardenError => new WardenError('WARDEN_KMS_DECRYPT_FAILED', 'decryption failed');

/** `key_<32 hex>` -> 16 bytes. */
export function keyIdBytes(id: string): Buffer {
  const match = /^key_([0-9a-f]{32})$/.exec(id);
  if (!match) throw new WardenError('WARDEN_INTERNAL', 'malformed key id');
  return Buffer.from(match[1]!, 'hex');
}

/** The canonical bytes of an encryption context (see the module comment). */
export function contextBytes(context: EncryptionContext): Buffer {
  const pairs = Object.entries(context).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u32(pairs.length)];
  for (const [k, v] of pairs) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

/** The additional authenticated data of a ciphertext. */
export function ciphertextAad(keyId: Buffer, version: number, context: EncryptionContext): Buffer {
  return Buffer.concat([AAD_LABEL, Buffer.from([FORMAT, ALG_AES_256_GCM]), keyId, u32(version), contextBytes(context)]);
}

/** Serializes a ciphertext. */
export function formatCiphertext({ keyId, version, iv, sealed }: CiphertextParts): string {
  return `warden:v${version}:${Buffer.concat([Buffer.from([FORMAT, ALG_AES_256_GCM]), keyId, iv, sealed]).toString('base64url')}`;
}

/** Parses a ciphertext; anything malformed is WARDEN_KMS_DECRYPT_FAILED. */
export function parseCiphertext(text: string): CiphertextParts {
  const match = PREFIX.exec(text);
  if (!match) throw decryptFailed();
  const body = canonicalBase64url(match[2]!);
  if (!body || body.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || body[0] !== FORMAT || body[1] !== ALG_AES_256_GCM) throw decryptFailed();
  return {
    version: Number(match[1]),
    keyId: body.subarray(2, HEADER_BYTES),
    iv: body.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES),
    sealed: body.subarray(HEADER_BYTES + IV_BYTES),
  };
}

/** `warden:v<version>:<base64url(bytes)>` for signatures and MACs. */
export function formatTagged(version: number, bytes: Buffer): string {
  return `warden:v${version}:${bytes.toString('base64url')}`;
}

/** Parses a signature or MAC string; undefined when malformed. */
export function parseTagged(text: string): { version: number; bytes: Buffer } | undefined {
  const match = PREFIX.exec(text);
  const bytes = match && canonicalBase64url(match[2]!);
  return bytes ? { version: Number(match[1]), bytes } : undefined;
}

/** The bytes of `text` only if `text` is their one canonical unpadded base64url form (so one value has one spelling). */
function canonicalBase64url(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
