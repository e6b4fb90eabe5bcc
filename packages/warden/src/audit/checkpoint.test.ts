/**
 * Tests for signed checkpoints: the key ID, verifier key and Ed25519 signature match the published
 * golang.org/x/mod/sumdb/note example byte for byte; checkpoints round trip; and forged signatures,
 * altered sizes or roots, other keys, malformed notes and extra whitespace are each refused with
 * WARDEN_AUDIT_VERIFY_FAILED.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  verifierKey,
} from './checkpoint.js';
import { EMPTY_ROOT, leafHash } from './merkle.js';

// golang.org/x/mod/sumdb/note note_test.go (the example key and note the C2SP signed-note spec derives from).
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_SKEY_MATERIAL = 'AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'; // 0x01 || 32-byte seed
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG = 'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=';

function ed25519FromSeed(seed: Buffer): KeyObject {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

function refused(fn: () => unknown, reason?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isWardenError(err, 'WARDEN_AUDIT_VERIFY_FAILED')).toBe(true);
    if (reason) expect(String((err as Error).cause)).toMatch(reason);
    return;
  }
  expect.fail('expected WARDEN_AUDIT_VERIFY_FAILED');
}

const ORIGIN = 'warden.example/audit';
const { privateKey } = generateKeyPairSync('ed25519');
const publicKey = createPublicKey(privateKey);
const VKEY = verifierKey(ORIGIN, publicKey);
const ROOT = leafHash(Buffer.from('some root'));

describe('the signed-note reference example', () => {
  const privateGo = ed25519FromSeed(Buffer.from(GO_SKEY_MATERIAL, 'base64').subarray(1));

  it('derives the published verifier key and key ID', () => {
    expect(verifierKey('PeterNeumann', createPublicKey(privateGo))).toBe(GO_VKEY);
    const parsed = parseVerifierKey(GO_VKEY);
    expect(parsed.name).toBe('PeterNeumann');
    expect(parsed.keyId.toString('hex')).toBe('c74f20a3');
    const raw = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64').subarray(1);
    const formula = createHash('sha256')
      .update(Buffer.concat([Buffer.from('PeterNeumann'), Buffer.from([0x0a, 0x01]), raw]))
      .digest()
      .subarray(0, 4);
    expect(formula.toString('hex')).toBe('c74f20a3');
  });

  it('reproduces the published signature and verifies the published note', () => {
    const blob = Buffer.concat([Buffer.from('c74f20a3', 'hex'), sign(null, Buffer.from(GO_TEXT), privateGo)]);
    expect(blob.toString('base64')).toBe(GO_SIG);
    // The note verifies; it is then refused only because its text is not a checkpoint body.
    refused(() => openCheckpoint(`${GO_TEXT}\n\u2014 PeterNeumann ${GO_SIG}\n`, GO_VKEY), /malformed checkpoint/);
    refused(() => openCheckpoint(`${GO_TEXT.replace('cryptography', 'cryptographY')}\n\u2014 PeterNeumann ${GO_SIG}\n`, GO_VKEY), /does not verify/);
  });
});

describe('checkpoint body', () => {
  it('formats and parses the C2SP tlog-checkpoint body', () => {
    const body = formatCheckpoint({ origin: ORIGIN, size: 20852163, root: ROOT });
    expect(body).toBe(`${ORIGIN}\n20852163\n${ROOT.toString('base64')}\n`);
    const parsed = parseCheckpoint(body);
    expect(parsed.origin).toBe(ORIGIN);
    expect(parsed.size).toBe(20852163);
    expect(parsed.root.equals(ROOT)).toBe(true);
    expect(parseCheckpoint(formatCheckpoint({ origin: ORIGIN, size: 0, root: EMPTY_ROOT })).size).toBe(0);
  });

  it('refuses invalid fields when formatting', () => {
    expect(() => formatCheckpoint({ origin: 'has space', size: 1, root: ROOT })).toThrow(RangeError);
    expect(() => formatCheckpoint({ origin: 'a+b', size: 1, root: ROOT })).toThrow(RangeError);
    expect(() => formatCheckpoint({ origin: '', size: 1, root: ROOT })).toThrow(RangeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: -1, root: ROOT })).toThrow(RangeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1.5, root: ROOT })).toThrow(RangeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1, root: ROOT.subarray(1) })).toThrow(RangeError);
  });

  it.each([
    ['no final newline', `${ORIGIN}\n1\n${ROOT.toString('base64')}`],
    ['leading zero', `${ORIGIN}\n01\n${ROOT.toString('base64')}\n`],
    ['negative size', `${ORIGIN}\n-1\n${ROOT.toString('base64')}\n`],
    ['size beyond 2^53', `${ORIGIN}\n9007199254740993\n${ROOT.toString('base64')}\n`],
    ['trailing space', `${ORIGIN}\n1 \n${ROOT.toString('base64')}\n`],
    ['CRLF', `${ORIGIN}\r\n1\r\n${ROOT.toString('base64')}\r\n`],
    ['extension line', `${ORIGIN}\n1\n${ROOT.toString('base64')}\next\n`],
    ['short root', `${ORIGIN}\n1\n${ROOT.subarray(1).toString('base64')}\n`],
    ['unpadded root', `${ORIGIN}\n1\n${ROOT.toString('base64').replace(/=+$/, '')}\n`],
    ['base64url root', `${ORIGIN}\n1\n${Buffer.alloc(32, 0xfb).toString('base64url')}=\n`],
    ['empty origin', `\n1\n${ROOT.toString('base64')}\n`],
  ])('refuses a malformed body: %s', (_name, body) => {
    expect(() => parseCheckpoint(body)).toThrow(expect.objectContaining({ code: 'WARDEN_AUDIT_VERIFY_FAILED' }));
  });
});

describe('signed checkpoints', () => {
  const checkpoint = { origin: ORIGIN, size: 42, root: ROOT };
  const note = signCheckpoint(checkpoint, { name: ORIGIN, privateKey });

  it('round trips', () => {
    expect(note.startsWith(`${formatCheckpoint(checkpoint)}\n\u2014 ${ORIGIN} `)).toBe(true);
    expect(note.endsWith('\n')).toBe(true);
    const opened = openCheckpoint(note, VKEY);
    expect(opened).toEqual({ origin: ORIGIN, size: 42, root: ROOT });
    expect(openCheckpoint(note, parseVerifierKey(VKEY)).size).toBe(42);
  });

  it('formats the verifier key as name+keyid+base64(0x01||key)', () => {
    const [name, id, material] = [VKEY.slice(0, VKEY.indexOf('+')), VKEY.split('+')[1], VKEY.slice(VKEY.indexOf('+', ORIGIN.length + 1) + 1)];
    expect(name).toBe(ORIGIN);
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    const bytes = Buffer.from(material, 'base64');
    expect(bytes.length).toBe(33);
    expect(bytes[0]).toBe(1);
    expect(verifierKey(ORIGIN, privateKey)).toBe(VKEY);
    const blob = Buffer.from(note.trimEnd().split(' ').at(-1)!, 'base64');
    expect(blob.subarray(0, 4).toString('hex')).toBe(id);
    expect(blob.length).toBe(68);
  });

  it('accepts extra signatures by unknown keys, in any position', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const otherLine = signCheckpoint(checkpoint, { name: ORIGIN, privateKey: other }).split('\n\n')[1]!;
    const witness = `\u2014 witness.example/w1 ${Buffer.alloc(68, 1).toString('base64')}\n`;
    const [body, ours] = note.split('\n\n') as [string, string];
    expect(openCheckpoint(`${body}\n\n${otherLine}${witness}${ours}`, VKEY).size).toBe(42);
  });

  it('refuses a forged signature', () => {
    const blob = Buffer.from(note.trimEnd().split(' ').at(-1)!, 'base64');
    blob[10]! ^= 1;
    const forged = note.replace(/ [^ ]+\n$/, ` ${blob.toString('base64')}\n`);
    refused(() => openCheckpoint(forged, VKEY), /does not verify/);
  });

  it('refuses an altered size or root', () => {
    refused(() => openCheckpoint(note.replace('\n42\n', '\n43\n'), VKEY));
    const otherRoot = leafHash(Buffer.from('other root')).toString('base64');
    refused(() => openCheckpoint(note.replace(ROOT.toString('base64'), otherRoot), VKEY));
  });

  it('refuses a note signed by another key, or checked against another key', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    refused(() => openCheckpoint(signCheckpoint(checkpoint, { name: ORIGIN, privateKey: other }), VKEY), /no signature/);
    refused(() => openCheckpoint(note, verifierKey(ORIGIN, createPublicKey(other))), /no signature/);
    refused(() => openCheckpoint(note, GO_VKEY), /no signature/);
  });

  it('refuses a checkpoint whose origin is not the key name', () => {
    // A valid signature by ORIGIN's key over a body naming another origin.
    const body = formatCheckpoint({ ...checkpoint, origin: 'other.example/log' });
    const keyId = parseVerifierKey(VKEY).keyId;
    const blob = Buffer.concat([keyId, sign(null, Buffer.from(body), privateKey)]).toString('base64');
    refused(() => openCheckpoint(`${body}\n\u2014 ${ORIGIN} ${blob}\n`, VKEY), /origin/);
    expect(() => signCheckpoint(checkpoint, { name: 'other.example/log', privateKey })).toThrow(RangeError);
  });

  it.each([
    ['no signature block', (n: string) => n.split('\n\n')[0]!],
    ['no final newline', (n: string) => n.slice(0, -1)],
    ['trailing space on the signature line', (n: string) => n.replace(/\n$/, ' \n')],
    ['double space in the signature line', (n: string) => n.replace(`\u2014 ${ORIGIN} `, `\u2014 ${ORIGIN}  `)],
    ['hyphen instead of em dash', (n: string) => n.replace('\u2014', '-')],
    ['extra blank line', (n: string) => n.replace('\n\n', '\n\n\n')],
    ['trailing blank line', (n: string) => `${n}\n`],
    ['CRLF line ends', (n: string) => n.replace(/\n/g, '\r\n')],
    ['tab', (n: string) => n.replace('\n42\n', '\n42\t\n')],
    ['leading space', (n: string) => ` ${n}`],
    ['empty', () => ''],
    ['garbage', () => 'not a note at all'],
    ['lone surrogate', (n: string) => n.replace(ORIGIN, `${ORIGIN}\ud800`)],
  ])('refuses a malformed note: %s', (_name, mangle) => {
    refused(() => openCheckpoint(mangle(note), VKEY));
  });

  it('refuses malformed verifier keys', () => {
    const bad = [
      '',
      'PeterNeumann',
      'PeterNeumann+c74f20a3',
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3+AhpczQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+',
    ];
    for (const key of bad) refused(() => parseVerifierKey(key));
    for (let i = 0; i < GO_VKEY.length; i++) {
      const mangled = GO_VKEY.slice(0, i) + String.fromCharCode(GO_VKEY.charCodeAt(i) + 1) + GO_VKEY.slice(i + 1);
      refused(() => parseVerifierKey(mangled));
    }
  });

  it('refuses to sign with a non-Ed25519 key', () => {
    const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => signCheckpoint(checkpoint, { name: ORIGIN, privateKey: ec })).toThrow(TypeError);
  });
});
