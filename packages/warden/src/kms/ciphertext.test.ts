import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import {
  ALG_AES_256_GCM,
  FORMAT,
  IV_BYTES,
  KEY_ID_BYTES,
  TAG_BYTES,
  ciphertextAad,
  contextBytes,
  formatCiphertext,
  formatTagged,
  keyIdBytes,
  parseCiphertext,
  parseTagged,
  type CiphertextParts,
} from './ciphertext.js';

const KEY_ID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const IV = Buffer.from('000102030405060708090a0b', 'hex');

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const utf8 = (s: string) => Buffer.from(s, 'utf8');

function parts(overrides: Partial<CiphertextParts> = {}): CiphertextParts {
  return { keyId: KEY_ID, version: 1, iv: IV, sealed: Buffer.alloc(TAG_BYTES + 5, 0xab), ...overrides };
}

/** A body (format | alg | key id | iv | sealed) as base64url under `warden:v<version>:`. */
function textOf(body: Buffer, version: string | number = 1): string {
  return `warden:v${version}:${body.toString('base64url')}`;
}
function body(overrides: { format?: number; alg?: number; sealedBytes?: number } = {}): Buffer {
  return Buffer.concat([Buffer.from([overrides.format ?? FORMAT, overrides.alg ?? ALG_AES_256_GCM]), KEY_ID, IV, Buffer.alloc(overrides.sealedBytes ?? TAG_BYTES, 0xcd)]);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
function expectDecryptFailed(text: string): void {
  const err = thrown(() => parseCiphertext(text));
  expect(isWardenError(err, 'WARDEN_KMS_DECRYPT_FAILED'), `parseCiphertext(${JSON.stringify(text)}) must throw WARDEN_KMS_DECRYPT_FAILED`).toBe(true);
  // One generic message whatever the cause: nothing about what was wrong.
  expect((err as Error).message).toBe('decryption failed');
}

describe('constants', () => {
  it('match the documented layout', () => {
    expect([FORMAT, ALG_AES_256_GCM, KEY_ID_BYTES, IV_BYTES, TAG_BYTES]).toEqual([0x01, 0x01, 16, 12, 16]);
  });
});

describe('contextBytes', () => {
  it('encodes the empty context as a zero count', () => {
    expect(contextBytes({}).toString('hex')).toBe('00000000');
  });

  it('is count, then length-prefixed UTF-8 key and value for each pair', () => {
    expect(contextBytes({ tenant: 'acme' })).toEqual(Buffer.concat([u32(1), u32(6), utf8('tenant'), u32(4), utf8('acme')]));
    expect(contextBytes({ k: '' })).toEqual(Buffer.concat([u32(1), u32(1), utf8('k'), u32(0)]));
  });

  it('does not depend on the order of the entries', () => {
    const a = contextBytes({ tenant: 'acme', region: 'eu', app: 'billing', 'zé': '1' });
    const b = contextBytes({ 'zé': '1', app: 'billing', tenant: 'acme', region: 'eu' });
    expect(a.equals(b)).toBe(true);
    // And the sorted order is app, region, tenant, zé.
    expect(a).toEqual(
      Buffer.concat([u32(4), u32(3), utf8('app'), u32(7), utf8('billing'), u32(6), utf8('region'), u32(2), utf8('eu'), u32(6), utf8('tenant'), u32(4), utf8('acme'), u32(3), utf8('zé'), u32(1), utf8('1')]),
    );
  });

  it('sorts by UTF-8 bytes, not by UTF-16 code units', () => {
    // U+FF61 is EF BD A1 in UTF-8 and FF61 in UTF-16; U+1F600 is F0 9F 98 80 and D83D DE00.
    // Bytes: U+FF61 first. UTF-16 (JavaScript's default sort): U+1F600 first.
    const halfwidth = '\uFF61';
    const emoji = '\u{1F600}';
    expect([emoji, halfwidth].sort()).toEqual([emoji, halfwidth]);
    const expected = Buffer.concat([u32(2), u32(3), utf8(halfwidth), u32(1), utf8('a'), u32(4), utf8(emoji), u32(1), utf8('b')]);
    expect(contextBytes({ [emoji]: 'b', [halfwidth]: 'a' })).toEqual(expected);
    expect(contextBytes({ [halfwidth]: 'a', [emoji]: 'b' })).toEqual(expected);
  });

  it('sorts a key before the keys it is a prefix of, and by unsigned bytes', () => {
    const encoded = contextBytes({ ab: '2', a: '1', B: '0', 'é': '3' });
    expect(encoded).toEqual(
      Buffer.concat([u32(4), u32(1), utf8('B'), u32(1), utf8('0'), u32(1), utf8('a'), u32(1), utf8('1'), u32(2), utf8('ab'), u32(1), utf8('2'), u32(2), utf8('é'), u32(1), utf8('3')]),
    );
  });

  it('keeps keys and values apart (the length prefixes make the encoding unambiguous)', () => {
    expect(contextBytes({ a: 'bc' }).equals(contextBytes({ ab: 'c' }))).toBe(false);
    expect(contextBytes({ a: '', b: '' }).equals(contextBytes({ a: 'b' }))).toBe(false);
    expect(contextBytes({ a: '1' }).equals(contextBytes({ a: '1', b: '' }))).toBe(false);
  });

  it('does not normalize Unicode', () => {
    expect(contextBytes({ k: '\u00e9' }).equals(contextBytes({ k: 'e\u0301' }))).toBe(false);
  });
});

describe('ciphertextAad', () => {
  it('is label | format | algorithm | key id | version (uint32 BE) | context', () => {
    const aad = ciphertextAad(KEY_ID, 0x01020304, { tenant: 'acme' });
    expect(aad).toEqual(Buffer.concat([Buffer.from('warden:kms:v1', 'ascii'), Buffer.from([0x01, 0x01]), KEY_ID, Buffer.from([1, 2, 3, 4]), contextBytes({ tenant: 'acme' })]));
    expect(aad.subarray(0, 13).toString('hex')).toBe('77617264656e3a6b6d733a7631');
  });

  it('changes with the key id, the version and the context', () => {
    const base = ciphertextAad(KEY_ID, 1, { a: 'b' });
    expect(base.equals(ciphertextAad(Buffer.alloc(16), 1, { a: 'b' }))).toBe(false);
    expect(base.equals(ciphertextAad(KEY_ID, 2, { a: 'b' }))).toBe(false);
    expect(base.equals(ciphertextAad(KEY_ID, 1, { a: 'c' }))).toBe(false);
    expect(base.equals(ciphertextAad(KEY_ID, 1, {}))).toBe(false);
  });
});

describe('formatCiphertext and parseCiphertext', () => {
  it('round-trip', () => {
    for (const version of [1, 2, 9, 10, 255, 65_536, 305_419_896, 999_999_999]) {
      for (const plaintextBytes of [0, 1, 2, 3, 31, 32, 1000]) {
        const p = parts({ keyId: randomBytes(16), version, iv: randomBytes(12), sealed: randomBytes(plaintextBytes + TAG_BYTES) });
        const text = formatCiphertext(p);
        expect(text).toMatch(/^warden:v[1-9][0-9]*:[A-Za-z0-9_-]+$/);
        expect(text.startsWith(`warden:v${version}:`)).toBe(true);
        const back = parseCiphertext(text);
        expect(back.version).toBe(version);
        expect(back.keyId.equals(p.keyId)).toBe(true);
        expect(back.iv.equals(p.iv)).toBe(true);
        expect(back.sealed.equals(p.sealed)).toBe(true);
        expect(formatCiphertext(back)).toBe(text);
      }
    }
  });

  it('lays the body out as format | algorithm | key id | iv | ciphertext | tag', () => {
    const sealed = Buffer.from('0102030405060708090a0b0c0d0e0f101112', 'hex');
    const text = formatCiphertext(parts({ version: 7, sealed }));
    const [, version, b64] = /^warden:v(\d+):(.+)$/.exec(text)!;
    expect(version).toBe('7');
    expect(Buffer.from(b64!, 'base64url').toString('hex')).toBe(`0101${KEY_ID.toString('hex')}${IV.toString('hex')}${sealed.toString('hex')}`);
  });

  it('accepts the shortest body: an empty plaintext (header, IV and tag only)', () => {
    const parsed = parseCiphertext(textOf(body()));
    expect(parsed.sealed).toHaveLength(TAG_BYTES);
  });

  it.each([
    ['no prefix', (b: string) => b],
    ['another scheme', (b: string) => `vault:v1:${b}`],
    ['upper case', (b: string) => `WARDEN:v1:${b}`],
    ['a capital V', (b: string) => `warden:V1:${b}`],
    ['no v', (b: string) => `warden:1:${b}`],
    ['no version', (b: string) => `warden:v:${b}`],
    ['a missing colon', (b: string) => `warden:v1${b}`],
    ['an extra field', (b: string) => `warden:v1:x:${b}`],
    ['leading text', (b: string) => ` warden:v1:${b}`],
    ['trailing text', (b: string) => `warden:v1:${b} `],
    ['a trailing newline', (b: string) => `warden:v1:${b}\n`],
    ['an empty body', () => 'warden:v1:'],
    ['v0', (b: string) => `warden:v0:${b}`],
    ['a leading zero', (b: string) => `warden:v01:${b}`],
    ['leading zeros', (b: string) => `warden:v0001:${b}`],
    ['a negative version', (b: string) => `warden:v-1:${b}`],
    ['a signed version', (b: string) => `warden:v+1:${b}`],
    ['a fractional version', (b: string) => `warden:v1.0:${b}`],
    ['a hex version', (b: string) => `warden:v0x1:${b}`],
    ['a version of 10 digits', (b: string) => `warden:v1000000000:${b}`],
    ['a full-width digit', (b: string) => `warden:v\uFF11:${b}`],
    ['standard base64 +', (b: string) => `warden:v1:+${b}`],
    ['standard base64 /', (b: string) => `warden:v1:${b}/`],
    ['padding', (b: string) => `warden:v1:${b}==`],
    ['a dot', (b: string) => `warden:v1:${b.slice(0, 10)}.${b.slice(10)}`],
    ['a space inside', (b: string) => `warden:v1:${b.slice(0, 10)} ${b.slice(10)}`],
    ['a non-ASCII letter', (b: string) => `warden:v1:${b.slice(0, 10)}é${b.slice(10)}`],
  ])('rejects %s with WARDEN_KMS_DECRYPT_FAILED', (_what, make) => {
    const valid = body({ sealedBytes: TAG_BYTES + 4 }).toString('base64url');
    expect(() => parseCiphertext(textOf(body({ sealedBytes: TAG_BYTES + 4 })))).not.toThrow();
    expectDecryptFailed(make(valid));
  });

  it('rejects bodies shorter than header + IV + tag', () => {
    const minimum = 2 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;
    expect(minimum).toBe(46);
    const full = body();
    expect(full).toHaveLength(minimum);
    for (const length of [0, 1, 2, 18, 30, 45]) expectDecryptFailed(textOf(full.subarray(0, length)));
    expect(() => parseCiphertext(textOf(full))).not.toThrow();
  });

  it('rejects a wrong format byte', () => {
    for (const format of [0x00, 0x02, 0x10, 0xff]) expectDecryptFailed(textOf(body({ format })));
  });

  it('rejects a wrong algorithm byte', () => {
    for (const alg of [0x00, 0x02, 0x7f, 0xff]) expectDecryptFailed(textOf(body({ alg })));
  });

  it('accepts every version from 1 to 999999999 and nothing above', () => {
    const b = body();
    for (const version of [1, 9, 10, 99, 100, 123_456_789, 999_999_999]) expect(parseCiphertext(textOf(b, version)).version).toBe(version);
    for (const version of ['1000000000', '4294967295', '4294967296']) expectDecryptFailed(textOf(b, version));
  });

  // KNOWN ISSUE (reported, not fixed here): Node's base64url decoder ignores the unused low bits of the
  // last character and a dangling final character, so several strings parse to the same ciphertext.
  // Not a confidentiality or integrity break (the bytes are authenticated), but ciphertext, signature
  // and MAC strings are not canonical. When parseCiphertext re-encodes and compares, flip these to `it`.
  it('rejects a non-canonical last base64url character', () => {
    const text = textOf(body({ sealedBytes: TAG_BYTES + 1 })); // 47 bytes: the last character carries 2 unused bits
    const last = text.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expectDecryptFailed(text.slice(0, -1) + sibling);
  });

  it('rejects a dangling final character (length = 1 mod 4)', () => {
    const text = textOf(body({ sealedBytes: TAG_BYTES + 2 })); // 48 bytes: exactly 64 characters
    expectDecryptFailed(`${text}A`);
  });
});

describe('keyIdBytes', () => {
  it('turns key_<32 lowercase hex> into its 16 bytes', () => {
    expect(keyIdBytes('key_00112233445566778899aabbccddeeff').equals(KEY_ID)).toBe(true);
    const id = `key_${randomBytes(16).toString('hex')}`;
    expect(keyIdBytes(id).toString('hex')).toBe(id.slice(4));
    expect(keyIdBytes(id)).toHaveLength(KEY_ID_BYTES);
  });

  it.each([
    '',
    'key_',
    '00112233445566778899aabbccddeeff',
    'key-00112233445566778899aabbccddeeff',
    'KEY_00112233445566778899aabbccddeeff',
    'key_00112233445566778899AABBCCDDEEFF',
    'key_00112233445566778899aabbccddeef',
    'key_00112233445566778899aabbccddeeff0',
    'key_00112233445566778899aabbccddeefg',
    'key_00112233445566778899aabbccddeeff\n',
    ' key_00112233445566778899aabbccddeeff',
    'key_0011223344556677-8899aabbccddeeff',
    'payments',
  ])('rejects %j', (id) => {
    expect(isWardenError(thrown(() => keyIdBytes(id)), 'WARDEN_INTERNAL')).toBe(true);
  });
});

describe('formatTagged and parseTagged', () => {
  it('round-trip signatures and MACs of every size Warden produces', () => {
    for (const length of [1, 32, 64, 70, 71, 72]) {
      for (const version of [1, 2, 42, 999_999_999]) {
        const bytes = randomBytes(length);
        const text = formatTagged(version, bytes);
        expect(text).toBe(`warden:v${version}:${bytes.toString('base64url')}`);
        const parsed = parseTagged(text);
        expect(parsed?.version).toBe(version);
        expect(parsed?.bytes.equals(bytes)).toBe(true);
        expect(formatTagged(parsed!.version, parsed!.bytes)).toBe(text);
      }
    }
  });

  it('uses the same prefix as a ciphertext, so a ciphertext also parses as tagged bytes', () => {
    const text = formatCiphertext(parts({ version: 3 }));
    const parsed = parseTagged(text);
    expect(parsed?.version).toBe(3);
    expect(parsed?.bytes.subarray(0, 2)).toEqual(Buffer.from([FORMAT, ALG_AES_256_GCM]));
  });

  it.each([
    '',
    'warden:v1:',
    'warden:v0:AAAA',
    'warden:v01:AAAA',
    'warden:v1000000000:AAAA',
    'warden:v-1:AAAA',
    'warden:1:AAAA',
    'Warden:v1:AAAA',
    'warden:v1:AA+A',
    'warden:v1:AA/A',
    'warden:v1:AAAA=',
    'warden:v1:AAAA\n',
    'warden:v1:AA AA',
    'sig:v1:AAAA',
  ])('returns undefined for %j', (text) => {
    expect(parseTagged(text)).toBeUndefined();
  });
});
