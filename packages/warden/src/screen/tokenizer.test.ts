/**
 * The tokenizer on both store backends, with a real barrier, keyring and hmac-sha256 key: determinism
 * (also across rotations), round trips, per-item errors in mixed batches, concurrent first writes, the
 * value stored only as barrier ciphertext, every fail-closed refusal, and the durable audit entry of a
 * detokenization (counts, never values).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryBody } from '../audit/index.js';
import { openBarrier, rewrap, type Barrier } from '../barrier/index.js';
import { isWardenError } from '../errors/index.js';
import type { ChangeContext } from '../identity/agents.js';
import { createKeyring, wrapKeyMaterial, type Keyring } from '../kms/index.js';
import { createBarrierKeyringRepository } from '../store/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { MAX_DETOKENIZE_BATCH, createTokenizer, tokenPattern, type DetokenizeResult, type Tokenizer } from './tokenizer.js';

const ctx: ChangeContext = { actor: { type: 'admin', id: 'alice' } };

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isWardenError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}
const codeOf = (r: DetokenizeResult | undefined) => (r && !r.ok ? r.error.code : `ok:${r?.ok === true ? r.value : '?'}`);

describe.each(storeBackends)('tokenizer on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let barrier: Barrier;
  let keyring: Keyring;
  let tokenizer: Tokenizer;
  const make = (keyName: string, extra: { knownTokens?: number } = {}) => createTokenizer({ db: opened.store.db, barrier, keyring, keyName, audit: audit.log, ...extra });

  beforeAll(async () => {
    opened = await backend.openMigrated();
    barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(opened.store.db) });
    audit = await openTestAuditLog(opened.store, { barrier });
    keyring = createKeyring({ db: opened.store.db, barrier, audit: audit.log, cacheTtlMs: 0 });
    await keyring.create({ name: 'tokens', type: 'hmac-sha256' }, ctx);
    tokenizer = make('tokens');
  });
  afterAll(async () => {
    await keyring?.close();
    await audit?.log.close();
    barrier?.close();
    await opened?.cleanup();
  });

  const rows = (token?: string) => {
    const q = opened.store.db.selectFrom('screen_tokens').selectAll();
    return (token === undefined ? q : q.where('token', '=', token)).execute();
  };

  it('makes deterministic tokens: same type and value, same token and one row; otherwise different', async () => {
    const a = await tokenizer.tokenize('email', 'alice@example.com');
    expect(a).toMatch(/^tok_email_v1_[A-Za-z0-9_-]{22}$/);
    expect(a).toMatch(tokenPattern);
    expect(await tokenizer.tokenize('email', 'alice@example.com')).toBe(a);
    // Another tokenizer over the same key (another node, a restart) makes the same token.
    expect(await make('tokens', { knownTokens: 0 }).tokenize('email', 'alice@example.com')).toBe(a);
    expect(await rows(a)).toHaveLength(1);
    const others = [
      await tokenizer.tokenize('email', 'bob@example.com'),
      await tokenizer.tokenize('secret', 'alice@example.com'),
      await tokenizer.tokenize('email', 'Alice@example.com'),
      await tokenizer.tokenize('email_2', 'alice@example.com'),
    ];
    expect(new Set([a, ...others]).size).toBe(5);
    expect(others[3]).toMatch(/^tok_email_2_v1_/);
  });

  it('is the documented HMAC: first 16 bytes over type, NUL, UTF-8 value, with the key version minEncryptionVersion names', async () => {
    // Import known material so the token can be recomputed outside Warden.
    const material = randomBytes(32);
    await keyring.create({ name: 'known', type: 'hmac-sha256' }, ctx);
    await keyring.import('known', wrapKeyMaterial(await keyring.wrappingKey(), Buffer.from(material)), ctx);
    await keyring.update('known', { minEncryptionVersion: 2 }, ctx);
    const token = await make('known').tokenize('iban', 'DE89 3704 0044 0532 0130 00 — ünïcode');
    const mac = createHmac('sha256', material).update(Buffer.concat([Buffer.from('iban'), Buffer.from([0]), Buffer.from('DE89 3704 0044 0532 0130 00 — ünïcode', 'utf8')])).digest().subarray(0, 16);
    expect(token).toBe(`tok_iban_v2_${mac.toString('base64url')}`);
  });

  it('keeps tokens across rotation; raising minEncryptionVersion re-keys, and old tokens still detokenize', async () => {
    const before = await tokenizer.tokenize('phone', '+41 79 123 45 67');
    await keyring.rotate('tokens', ctx);
    expect(await tokenizer.tokenize('phone', '+41 79 123 45 67')).toBe(before);
    await keyring.update('tokens', { minEncryptionVersion: 2 }, ctx);
    const after = await tokenizer.tokenize('phone', '+41 79 123 45 67');
    expect(after).toMatch(/^tok_phone_v2_/);
    expect(after).not.toBe(before);
    const results = await tokenizer.detokenize([before, after]);
    expect(results).toEqual([
      { ok: true, value: '+41 79 123 45 67', type: 'phone' },
      { ok: true, value: '+41 79 123 45 67', type: 'phone' },
    ]);
    await keyring.update('tokens', { minEncryptionVersion: 1 }, ctx);
    expect(await tokenizer.tokenize('phone', '+41 79 123 45 67')).toBe(before);
  });

  it('round-trips, with one result per token in order; unknown and malformed tokens are per-item WARDEN_NOT_FOUND', async () => {
    const secret = 'sk_live_51H8xQ2eZvKYlo2C0000000000';
    const email = 'carol@example.org';
    const s = await tokenizer.tokenize('secret', secret);
    const e = await tokenizer.tokenize('email', email);
    const unknown = `tok_secret_v1_${'A'.repeat(22)}`;
    const retyped = s.replace('tok_secret_', 'tok_email_');
    const results = await tokenizer.detokenize([s, 'not a token', e, unknown, s, '', retyped, `${e}x`]);
    expect(results.map(codeOf)).toEqual([`ok:${secret}`, 'WARDEN_NOT_FOUND', `ok:${email}`, 'WARDEN_NOT_FOUND', `ok:${secret}`, 'WARDEN_NOT_FOUND', 'WARDEN_NOT_FOUND', 'WARDEN_NOT_FOUND']);
    expect(results[0]).toEqual({ ok: true, value: secret, type: 'secret' });
    expect(await tokenizer.detokenize([])).toEqual([]);
    expect(await refusal(tokenizer.detokenize(Array.from({ length: MAX_DETOKENIZE_BATCH + 1 }, () => s)))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await tokenizer.detokenize(Array.from({ length: MAX_DETOKENIZE_BATCH }, () => s))).toHaveLength(MAX_DETOKENIZE_BATCH);
  });

  it('stores the value only as barrier ciphertext bound to its token', async () => {
    const value = 'dave-unique-plaintext@example.net';
    const token = await tokenizer.tokenize('email', value);
    const [row] = await rows(token);
    expect(row).toMatchObject({ token, type: 'email', key_name: 'tokens' });
    expect(row!.value.includes(Buffer.from(value))).toBe(false);
    expect((await barrier.decrypt(row!.value, { table: 'screen_tokens', column: 'value', row: token })).toString()).toBe(value);
    // Moved under another token, the ciphertext does not open: that item fails, the others do not.
    const other = await tokenizer.tokenize('email', 'eve@example.net');
    const [otherRow] = await rows(other);
    await opened.store.db.updateTable('screen_tokens').set({ value: row!.value }).where('token', '=', other).execute();
    const results = await tokenizer.detokenize([other, token]);
    expect(results.map(codeOf)).toEqual(['WARDEN_BARRIER_DECRYPT_FAILED', `ok:${value}`]);
    await opened.store.db.updateTable('screen_tokens').set({ value: otherRow!.value }).where('token', '=', other).execute();
  });

  it('is a protected column: rewrap moves the values to a new barrier key version and they still detokenize', async () => {
    const token = await tokenizer.tokenize('email', 'rewrap-me@example.com');
    const latest = await barrier.rotate();
    await rewrap({ db: opened.store.db, barrier });
    const stored = await rows();
    expect(stored.length).toBeGreaterThan(1);
    expect(stored.every((r) => barrier.versionOf(r.value) === latest)).toBe(true);
    expect((await tokenizer.detokenize([token])).map(codeOf)).toEqual(['ok:rewrap-me@example.com']);
  });

  it('survives concurrent first writes of the same value (one row, one token, no failure)', async () => {
    const writers = Array.from({ length: 4 }, () => make('tokens', { knownTokens: 0 }));
    const tokens = await Promise.all(Array.from({ length: 24 }, (_, i) => writers[i % writers.length]!.tokenize('email', 'race@example.com')));
    expect(new Set(tokens).size).toBe(1);
    expect(await rows(tokens[0])).toHaveLength(1);
  });

  it('only detokenizes tokens of its own key', async () => {
    await keyring.create({ name: 'tokens-b', type: 'hmac-sha256' }, ctx);
    const b = make('tokens-b');
    const token = await b.tokenize('email', 'frank@example.com');
    expect(token).not.toBe(await tokenizer.tokenize('email', 'frank@example.com'));
    expect((await tokenizer.detokenize([token])).map(codeOf)).toEqual(['WARDEN_NOT_FOUND']);
    expect((await b.detokenize([token])).map(codeOf)).toEqual(['ok:frank@example.com']);
  });

  it('refuses bad types and values', async () => {
    for (const type of ['', 'Email', 'e-mail', 'x'.repeat(33), 'a b']) expect(await refusal(tokenizer.tokenize(type, 'v'))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await refusal(tokenizer.tokenize('email', ''))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await refusal(tokenizer.tokenize('email', 'bad \uD800 surrogate'))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await refusal(tokenizer.tokenize('email', 'x'.repeat(64 * 1024 + 1)))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await tokenizer.tokenize('email', 'x'.repeat(64 * 1024))).toMatch(tokenPattern);
    expect(() => make('Not A Key')).toThrow(expect.objectContaining({ code: 'WARDEN_CONFIG_INVALID' }));
  });

  it('fails closed: a missing, disabled, wrong-type or to-be-destroyed key, or a disabled token version', async () => {
    expect(await refusal(make('missing').tokenize('email', 'a@b.c'))).toBe('WARDEN_NOT_FOUND');
    expect(await refusal(make('missing').detokenize(['x']))).toBe('WARDEN_NOT_FOUND');
    await keyring.create({ name: 'aes', type: 'aes256-gcm' }, ctx);
    expect(await refusal(make('aes').tokenize('email', 'a@b.c'))).toBe('WARDEN_KMS_UNSUPPORTED_OPERATION');

    await keyring.create({ name: 'switch', type: 'hmac-sha256' }, ctx);
    const sw = make('switch');
    const token = await sw.tokenize('email', 'grace@example.com');
    await keyring.disable('switch', ctx);
    expect(await refusal(sw.tokenize('email', 'grace@example.com'))).toBe('WARDEN_KMS_KEY_DISABLED');
    expect(await refusal(sw.tokenize('email', 'new@example.com'))).toBe('WARDEN_KMS_KEY_DISABLED');
    expect(await refusal(sw.detokenize([token]))).toBe('WARDEN_KMS_KEY_DISABLED');
    await keyring.enable('switch', ctx);
    await keyring.setVersionState('switch', 1, 'disabled', ctx);
    expect(await refusal(sw.tokenize('email', 'grace@example.com'))).toBe('WARDEN_KMS_VERSION_DISABLED');
    await keyring.setVersionState('switch', 1, 'enabled', ctx);
    expect(await sw.tokenize('email', 'grace@example.com')).toBe(token);
    await keyring.scheduleDestruction('switch', 7, ctx);
    expect(await refusal(sw.tokenize('email', 'grace@example.com'))).toBe('WARDEN_KMS_KEY_PENDING_DESTRUCTION');
    expect(await refusal(sw.detokenize([token]))).toBe('WARDEN_KMS_KEY_PENDING_DESTRUCTION');
  });

  it('records each detokenization durably with counts, never values or tokens, and reveals nothing when it cannot', async () => {
    const value = 'heidi-audit-check@example.com';
    const token = await tokenizer.tokenize('email', value);
    let receipt: number | undefined;
    const results = await tokenizer.detokenize([token, 'nope'], {
      actor: { type: 'agent', id: 'bot-1' },
      source: { ip: '10.0.0.9', requestId: 'req-1' },
      decisionId: 'd-1',
      receipt: (index) => (receipt = index),
    });
    expect(results.map(codeOf)).toEqual([`ok:${value}`, 'WARDEN_NOT_FOUND']);
    expect(receipt).toBeTypeOf('number');
    const [entry] = await audit.log.entries(receipt!, receipt! + 1);
    const body = JSON.parse(entry!.body!) as AuditEntryBody;
    expect(body).toMatchObject({ action: 'tokens.detokenize', actor: { type: 'agent', id: 'bot-1' }, resource: { type: 'key', id: 'tokens' }, status: 'success' });
    expect(body.details).toEqual({ count: 2, revealed: 1, notFound: 1, types: { email: 1 }, decisionId: 'd-1' });
    expect(entry!.body).not.toContain(value);
    expect(entry!.body).not.toContain(token);

    const failing = createTokenizer({ db: opened.store.db, barrier, keyring, keyName: 'tokens', audit: { append: () => Promise.reject(new Error('disk full')) } });
    expect(await refusal(failing.detokenize([token]))).toBe('WARDEN_AUDIT_UNAVAILABLE');
  });
});
