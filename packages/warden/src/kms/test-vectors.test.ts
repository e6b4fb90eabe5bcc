/**
 * The test vectors of `docs/kms.md`, checked against the code so the documentation and the
 * implementation cannot drift. The vectors are read from the fenced blocks ```json test-vectors and
 * ```json tagged-vectors of the document; each one is recomputed with an independent implementation of
 * the format written here (plain node:crypto and Buffer operations, not `ciphertext.ts`), and
 * `ciphertext.ts` (and the software cryptography of `key-material.ts`) must agree with it.
 */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, sign as signWith, verify as verifyWith } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ciphertextAad, contextBytes, formatCiphertext, formatTagged, keyIdBytes, parseCiphertext, parseTagged } from './ciphertext.js';
import { softwareCrypto } from './key-material.js';

const DOC_PATH = new URL('../../../../docs/kms.md', import.meta.url);
const doc = readFileSync(DOC_PATH, 'utf8');

/** The body of the one fenced block whose info string is exactly "```<info>". */
function fencedBlock(info: string): string {
  const blocks = [...doc.matchAll(/^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm)].filter((m) => m[1]!.trim() === info);
  if (blocks.length !== 1) throw new Error(`docs/kms.md must have exactly one \`\`\`${info} block, found ${blocks.length}`);
  return blocks[0]![2]!;
}

interface Vector {
  name: string;
  keyMaterialHex: string;
  keyId: string;
  version: number;
  context: Record<string, string>;
  ivHex: string;
  plaintextHex: string;
  plaintextUtf8?: string;
  aadHex: string;
  ciphertext: string;
}
interface TaggedVector {
  name: string;
  type: 'hmac-sha256' | 'ed25519';
  keyMaterialHex: string;
  version: number;
  dataHex: string;
  value: string;
}

const VECTOR_FIELDS = ['aadHex', 'ciphertext', 'context', 'ivHex', 'keyId', 'keyMaterialHex', 'name', 'plaintextHex', 'version'];
const OPTIONAL_VECTOR_FIELDS = ['plaintextUtf8'];
const TAGGED_FIELDS = ['dataHex', 'keyMaterialHex', 'name', 'type', 'value', 'version'];

const vectors = JSON.parse(fencedBlock('json test-vectors')) as Vector[];
const taggedVectors = JSON.parse(fencedBlock('json tagged-vectors')) as TaggedVector[];

// ---- An independent implementation of the format, from the specification in docs/kms.md. ----

const hex = (text: string): Buffer => {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new Error(`not lowercase hex: ${text}`);
  return Buffer.from(text, 'hex');
};

function uint32be(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`not a uint32: ${n}`);
  return Buffer.from([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** Unsigned bytewise order, written out (shorter prefix first). */
function byteOrder(a: Buffer, b: Buffer): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function referenceContext(context: Record<string, string>): Buffer {
  const pairs = Object.keys(context).map((k) => ({ key: Buffer.from(k, 'utf8'), value: Buffer.from(context[k]!, 'utf8') }));
  pairs.sort((x, y) => byteOrder(x.key, y.key));
  const out: Buffer[] = [uint32be(pairs.length)];
  for (const { key, value } of pairs) out.push(uint32be(key.length), key, uint32be(value.length), value);
  return Buffer.concat(out);
}

function referenceKeyId(id: string): Buffer {
  const m = /^key_([0-9a-f]{32})$/.exec(id);
  if (!m) throw new Error(`malformed key id ${id}`);
  return Buffer.from(m[1]!, 'hex');
}

function referenceAad(keyId: Buffer, version: number, context: Record<string, string>): Buffer {
  return Buffer.concat([Buffer.from('warden:kms:v1', 'ascii'), Buffer.from([0x01, 0x01]), keyId, uint32be(version), referenceContext(context)]);
}

function referenceEncrypt(v: Vector): string {
  const keyId = referenceKeyId(v.keyId);
  const iv = hex(v.ivHex);
  const cipher = createCipheriv('aes-256-gcm', hex(v.keyMaterialHex), iv, { authTagLength: 16 });
  cipher.setAAD(referenceAad(keyId, v.version, v.context));
  const body = Buffer.concat([Buffer.from([0x01, 0x01]), keyId, iv, cipher.update(hex(v.plaintextHex)), cipher.final(), cipher.getAuthTag()]);
  return `warden:v${v.version}:${body.toString('base64url')}`;
}

function referenceParse(text: string): { version: number; body: Buffer } {
  const m = /^warden:v([1-9][0-9]{0,8}):([A-Za-z0-9_-]+)$/.exec(text);
  if (!m) throw new Error(`not a warden string: ${text}`);
  return { version: Number(m[1]), body: Buffer.from(m[2]!, 'base64url') };
}

function referenceDecrypt(v: Vector): Buffer {
  const { version, body } = referenceParse(v.ciphertext);
  expect(body.length).toBeGreaterThanOrEqual(46);
  expect([body[0], body[1]]).toEqual([0x01, 0x01]);
  const keyId = body.subarray(2, 18);
  const decipher = createDecipheriv('aes-256-gcm', hex(v.keyMaterialHex), body.subarray(18, 30), { authTagLength: 16 });
  decipher.setAAD(referenceAad(keyId, version, v.context));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(30, body.length - 16)), decipher.final()]);
}

/** The hex of an annotated block: the first token of each non-empty line. */
function annotatedHex(info: string): Buffer {
  const lines = fencedBlock(info)
    .split('\n')
    .filter((line) => line.trim() !== '');
  return Buffer.concat(lines.map((line) => hex(line.trim().split(/\s+/)[0]!)));
}

// ---- The checks. ----

describe('docs/kms.md ciphertext test vectors', () => {
  it('has the vectors the documentation promises, with exactly the documented fields', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(3);
    for (const v of vectors) {
      expect(Object.keys(v).filter((k) => !OPTIONAL_VECTOR_FIELDS.includes(k)).sort()).toEqual(VECTOR_FIELDS);
      expect(Object.keys(v).every((k) => VECTOR_FIELDS.includes(k) || OPTIONAL_VECTOR_FIELDS.includes(k))).toBe(true);
      expect(hex(v.keyMaterialHex)).toHaveLength(32);
      expect(hex(v.ivHex)).toHaveLength(12);
    }
    // An empty context, a multi-pair context with non-ASCII text, and a version needing more than 16 bits.
    expect(vectors.some((v) => Object.keys(v.context).length === 0)).toBe(true);
    expect(vectors.some((v) => Object.keys(v.context).length >= 2 && Object.entries(v.context).some(([k, val]) => /[^ -~]/.test(k + val)))).toBe(true);
    expect(vectors.some((v) => v.version > 0xffff)).toBe(true);
    // Vector 4 exists to pin the byte order of keys: it must differ from the UTF-16 order.
    expect(
      vectors.some((v) => {
        const keys = Object.keys(v.context);
        const utf16 = [...keys].sort();
        const bytes = [...keys].sort((a, b) => byteOrder(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        return utf16.join('\u0000') !== bytes.join('\u0000');
      }),
    ).toBe(true);
  });

  describe.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    it('plaintextUtf8 is the text of plaintextHex', () => {
      if (v.plaintextUtf8 !== undefined) expect(Buffer.from(v.plaintextUtf8, 'utf8').toString('hex')).toBe(v.plaintextHex);
    });

    it('the independent implementation reproduces the AAD and the ciphertext', () => {
      expect(referenceAad(referenceKeyId(v.keyId), v.version, v.context).toString('hex')).toBe(v.aadHex);
      expect(referenceEncrypt(v)).toBe(v.ciphertext);
      expect(referenceDecrypt(v).toString('hex')).toBe(v.plaintextHex);
    });

    it('ciphertext.ts agrees: parseCiphertext, ciphertextAad, contextBytes, formatCiphertext', () => {
      const keyId = keyIdBytes(v.keyId);
      expect(keyId.equals(referenceKeyId(v.keyId))).toBe(true);
      expect(contextBytes(v.context).equals(referenceContext(v.context))).toBe(true);
      expect(ciphertextAad(keyId, v.version, v.context).toString('hex')).toBe(v.aadHex);

      const parts = parseCiphertext(v.ciphertext);
      expect(parts.version).toBe(v.version);
      expect(parts.keyId.toString('hex')).toBe(keyId.toString('hex'));
      expect(parts.iv.toString('hex')).toBe(v.ivHex);
      expect(parts.sealed.length).toBe(hex(v.plaintextHex).length + 16);
      expect(formatCiphertext(parts)).toBe(v.ciphertext);
      expect(formatCiphertext({ keyId, version: v.version, iv: hex(v.ivHex), sealed: parts.sealed })).toBe(v.ciphertext);
    });

    it("Warden's software AES-256-GCM opens it under the documented AAD and no other", () => {
      const crypto = softwareCrypto('aes256-gcm', hex(v.keyMaterialHex));
      try {
        const parts = parseCiphertext(v.ciphertext);
        const aad = ciphertextAad(parts.keyId, parts.version, v.context);
        expect(crypto.decrypt(parts.iv, parts.sealed, aad).toString('hex')).toBe(v.plaintextHex);
        expect(crypto.encrypt(parts.iv, hex(v.plaintextHex), aad).equals(parts.sealed)).toBe(true);
        // Another version or another context is another AAD: decryption fails.
        expect(() => crypto.decrypt(parts.iv, parts.sealed, ciphertextAad(parts.keyId, parts.version + 1, v.context))).toThrow('decryption failed');
        expect(() => crypto.decrypt(parts.iv, parts.sealed, ciphertextAad(parts.keyId, parts.version, { ...v.context, extra: '' }))).toThrow('decryption failed');
      } finally {
        crypto.dispose();
      }
    });
  });

  it('the field-by-field AAD of vector 2 is its aadHex', () => {
    const v2 = vectors[1]!;
    expect(annotatedHex('text test-vector-2-aad').toString('hex')).toBe(v2.aadHex);
  });

  it('the field-by-field body of vector 1 is its decoded ciphertext', () => {
    const v1 = vectors[0]!;
    expect(annotatedHex('text test-vector-1-body').toString('hex')).toBe(referenceParse(v1.ciphertext).body.toString('hex'));
  });

  it('the documented AAD label and parsing regex are the ones implemented', () => {
    expect(doc).toContain(Buffer.from('warden:kms:v1', 'ascii').toString('hex'));
    expect(doc).toContain('^warden:v([1-9][0-9]{0,8}):([A-Za-z0-9_-]+)$');
  });
});

describe('docs/kms.md signature and MAC test vectors', () => {
  it('has an HMAC and an Ed25519 vector with exactly the documented fields', () => {
    expect(taggedVectors.map((v) => v.type).sort()).toEqual(['ed25519', 'hmac-sha256']);
    for (const v of taggedVectors) expect(Object.keys(v).sort()).toEqual(TAGGED_FIELDS);
  });

  describe.each(taggedVectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    it('the independent implementation reproduces the value', () => {
      const data = hex(v.dataHex);
      let bytes: Buffer;
      if (v.type === 'hmac-sha256') {
        bytes = createHmac('sha256', hex(v.keyMaterialHex)).update(data).digest();
        expect(bytes).toHaveLength(32);
      } else {
        const privateKey = createPrivateKey({ key: hex(v.keyMaterialHex), format: 'der', type: 'pkcs8' });
        bytes = signWith(null, data, privateKey);
        expect(bytes).toHaveLength(64);
        expect(verifyWith(null, data, createPublicKey(privateKey), bytes)).toBe(true);
      }
      expect(`warden:v${v.version}:${bytes.toString('base64url')}`).toBe(v.value);
      expect(referenceParse(v.value)).toEqual({ version: v.version, body: bytes });
    });

    it('ciphertext.ts and key-material.ts agree', () => {
      const parsed = parseTagged(v.value);
      expect(parsed?.version).toBe(v.version);
      expect(parsed && formatTagged(parsed.version, parsed.bytes)).toBe(v.value);
      const crypto = softwareCrypto(v.type, hex(v.keyMaterialHex));
      try {
        const data = hex(v.dataHex);
        if (v.type === 'hmac-sha256') expect(formatTagged(v.version, crypto.hmac(data))).toBe(v.value);
        else {
          expect(formatTagged(v.version, crypto.sign({ message: data }))).toBe(v.value);
          expect(crypto.verify({ message: data }, parsed!.bytes)).toBe(true);
        }
      } finally {
        crypto.dispose();
      }
    });
  });
});
