/**
 * Signed checkpoints of the audit log: the C2SP tlog-checkpoint body (origin, tree size, base64 root
 * hash) carried in a C2SP signed-note with Ed25519 signatures (signature type 0x01), and the verifier
 * key string (`<name>+<8 hex key ID>+<base64(0x01 || public key)>`) that auditors pin. Parsing is
 * strict: Warden writes exactly three body lines and no extension lines, so anything else (extra
 * whitespace, CR, a leading zero, a non-canonical base64) is refused. Every verification failure is
 * the same generic WARDEN_AUDIT_VERIFY_FAILED; the specific reason is kept as the error's cause.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { WardenError } from '../errors/index.js';
import { HASH_BYTES } from './merkle.js';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
}

/** A parsed verifier key: the key name (= the log origin), its 4-byte key ID and the Ed25519 public key. */
export interface VerifierKey {
  name: string;
  keyId: Buffer;
  publicKey: KeyObject;
}

/** The signed-note signature type byte for Ed25519. */
const ED25519_TYPE = 0x01;
const ED25519_PUBLIC_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const KEY_ID_BYTES = 4;
/** Signed-note verifiers must accept at least 16 signatures; refuse absurd notes. */
const MAX_SIGNATURES = 100;
const SIGNATURE_PREFIX = '\u2014 ';
const VERIFY_FAILED = 'checkpoint signature does not verify';

/** The C2SP tlog-checkpoint body: `<origin>\n<size>\n<base64 root>\n`. Throws RangeError on an invalid field. */
export function formatCheckpoint(checkpoint: { origin: string; size: number; root: Uint8Array }): string {
  if (!isKeyName(checkpoint.origin)) {
    throw new RangeError('a checkpoint origin must be non-empty, without spaces, plus signs or control characters');
  }
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
    throw new RangeError('a checkpoint size must be a non-negative safe integer');
  }
  if (checkpoint.root.length !== HASH_BYTES) throw new RangeError(`a checkpoint root is ${HASH_BYTES} bytes`);
  return `${checkpoint.origin}\n${checkpoint.size}\n${Buffer.from(checkpoint.root).toString('base64')}\n`;
}

/** Parses a checkpoint body written by formatCheckpoint. Throws WARDEN_AUDIT_VERIFY_FAILED when malformed. */
export function parseCheckpoint(body: string): Checkpoint {
  const checkpoint = tryParseCheckpoint(body);
  if (typeof checkpoint === 'string') throw failed(`malformed checkpoint: ${checkpoint}`, 'checkpoint is malformed');
  return checkpoint;
}

/**
 * Signs `checkpoint` as a C2SP signed note with one Ed25519 signature line. The key name must equal
 * the checkpoint origin (C2SP tlog-checkpoint) and the key must be an Ed25519 private key.
 */
export function signCheckpoint(
  checkpoint: { origin: string; size: number; root: Uint8Array },
  signer: { name: string; privateKey: KeyObject },
): string {
  if (signer.name !== checkpoint.origin) throw new RangeError('the key name must equal the checkpoint origin');
  if (signer.privateKey.type !== 'private' || signer.privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('a checkpoint is signed with an Ed25519 private key');
  }
  const body = formatCheckpoint(checkpoint);
  const publicKey = createPublicKey(signer.privateKey);
  const signature = sign(null, Buffer.from(body, 'utf8'), signer.privateKey);
  const blob = Buffer.concat([keyIdOf(signer.name, rawPublicKey(publicKey)), signature]).toString('base64');
  return `${body}\n${SIGNATURE_PREFIX}${signer.name} ${blob}\n`;
}

/** The verifier key string `<name>+<8 hex key ID>+<base64(0x01 || 32-byte public key)>` (C2SP signed-note). */
export function verifierKey(name: string, publicKey: KeyObject): string {
  if (!isKeyName(name)) throw new RangeError('a key name must be non-empty, without spaces, plus signs or control characters');
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new TypeError('a verifier key is an Ed25519 key');
  const raw = rawPublicKey(publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey);
  const encoded = Buffer.concat([Buffer.from([ED25519_TYPE]), raw]).toString('base64');
  return `${name}+${keyIdOf(name, raw).toString('hex')}+${encoded}`;
}

/** Parses a verifier key string, checking its key ID. Throws WARDEN_AUDIT_VERIFY_FAILED when malformed. */
export function parseVerifierKey(text: string): VerifierKey {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw failed('malformed verifier key', 'verifier key is malformed');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const encoded = text.slice(second + 1);
  const material = decodeBase64(encoded);
  if (
    !isKeyName(name) ||
    !/^[0-9a-f]{8}$/.test(idHex) ||
    material === undefined ||
    material.length !== 1 + ED25519_PUBLIC_BYTES ||
    material[0] !== ED25519_TYPE
  ) {
    throw failed('malformed verifier key', 'verifier key is malformed');
  }
  const raw = material.subarray(1);
  const keyId = keyIdOf(name, raw);
  if (keyId.toString('hex') !== idHex) throw failed('verifier key ID does not match its key', 'verifier key is malformed');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (cause) {
    throw new WardenError('WARDEN_AUDIT_VERIFY_FAILED', 'verifier key is malformed', { cause });
  }
  return { name, keyId, publicKey };
}

/**
 * Opens a signed checkpoint: the note must be well formed, carry a signature line by `key` (name and
 * key ID) that verifies, no signature by `key` that fails, and a checkpoint body whose origin is the
 * key name. Signatures by other keys are ignored (C2SP signed-note). Throws WARDEN_AUDIT_VERIFY_FAILED
 * ("checkpoint signature does not verify") otherwise.
 */
export function openCheckpoint(noteText: string, key: string | VerifierKey): Checkpoint {
  const verifier = typeof key === 'string' ? parseVerifierKey(key) : key;
  const note = splitNote(noteText);
  if (typeof note === 'string') throw failed(note);
  const message = Buffer.from(note.text, 'utf8');
  let verified = false;
  for (const line of note.signatures) {
    if (line.name !== verifier.name || !line.blob.subarray(0, KEY_ID_BYTES).equals(verifier.keyId)) continue;
    const signature = line.blob.subarray(KEY_ID_BYTES);
    if (signature.length !== ED25519_SIGNATURE_BYTES || !verify(null, message, verifier.publicKey, signature)) {
      throw failed('a signature by the verifier key does not verify');
    }
    verified = true;
  }
  if (!verified) throw failed('no signature by the verifier key');
  const checkpoint = tryParseCheckpoint(note.text);
  if (typeof checkpoint === 'string') throw failed(`malformed checkpoint: ${checkpoint}`);
  if (checkpoint.origin !== verifier.name) throw failed('checkpoint origin is not the key name');
  return checkpoint;
}

/** Key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4] (C2SP signed-note). */
function keyIdOf(name: string, rawKey: Uint8Array): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ED25519_TYPE]))
    .update(rawKey)
    .digest()
    .subarray(0, KEY_ID_BYTES);
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 public key');
  const raw = Buffer.from(jwk.x, 'base64url');
  if (raw.length !== ED25519_PUBLIC_BYTES) throw new TypeError('not an Ed25519 public key');
  return raw;
}

/** Key names and origins: non-empty, no Unicode spaces, no `+`, no control characters. */
function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\p{Cc}\p{Zs}]/u.test(name) && isWellFormed(name);
}

function isWellFormed(text: string): boolean {
  return !/\p{Cs}/u.test(text);
}

/** Strict standard base64 (RFC 4648 §4, padded): undefined unless `text` is the canonical encoding. */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function tryParseCheckpoint(body: string): Checkpoint | string {
  if (!body.endsWith('\n')) return 'the body does not end in a newline';
  const lines = body.slice(0, -1).split('\n');
  if (lines.length !== 3) return 'the body is not exactly three lines';
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!isKeyName(origin)) return 'bad origin';
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText)) return 'bad tree size';
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return 'tree size too large';
  const root = decodeBase64(rootText);
  if (root === undefined || root.length !== HASH_BYTES) return 'bad root hash';
  return { origin, size, root };
}

interface SignatureLine {
  name: string;
  blob: Buffer;
}

/** Splits a signed note into its text and signature lines (C2SP signed-note §Format), or says why it cannot. */
function splitNote(note: string): { text: string; signatures: SignatureLine[] } | string {
  if (!isWellFormed(note)) return 'the note is not valid UTF-8';
  if (hasControlCharacter(note)) return 'the note contains control characters';
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return 'the note has no signature block';
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) return 'the signature block does not end in a newline';
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return 'too many signatures';
  const signatures: SignatureLine[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) return 'a signature line does not start with an em dash';
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) return 'a signature line has no signature';
    const name = rest.slice(0, space);
    const blob = decodeBase64(rest.slice(space + 1));
    if (!isKeyName(name) || blob === undefined || blob.length <= KEY_ID_BYTES) return 'a signature line is malformed';
    signatures.push({ name, blob });
  }
  return { text, signatures };
}

/** True when `text` has a character below U+0020 other than newline (refused by C2SP signed-note). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

function failed(reason: string, message = VERIFY_FAILED): WardenError {
  return new WardenError('WARDEN_AUDIT_VERIFY_FAILED', message, { cause: new Error(reason) });
}
