import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeContext } from '../identity/agents.js';
import { createSoftHsmToken, withSoftHsmSession, type SoftHsmToken } from '../testing/softhsm.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { wrapKeyMaterial } from './byok.js';
import { openHsmKeyStore, type HsmKeyStore } from './hsm-keys.js';
import { createKeyring, type Keyring } from './keyring.js';
import { createKeyOperations, type Caller, type ItemResult, type KeyOperations } from './operations.js';

const ctx: ChangeContext = { actor: { type: 'admin', id: 'alice' } };
const caller: Caller = { principal: { type: 'Warden::Agent', id: 'app' }, actor: { type: 'agent', id: 'app' } };
const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const DAY = 86_400_000;

function value<T>(result: ItemResult<T> | undefined): T {
  if (!result?.ok) throw new Error(`expected success, got ${result ? result.error.code : 'nothing'}`);
  return result.value;
}

describe('KMS with HSM-resident keys (SoftHSM2)', () => {
  let token: SoftHsmToken;
  let hsm: HsmKeyStore;
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let keyring: Keyring;
  let ops: KeyOperations;

  beforeAll(async () => {
    token = await createSoftHsmToken({ label: 'warden-kms-keyring' });
    hsm = openHsmKeyStore({ library: token.library, tokenLabel: token.label, pin: token.pin });
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    keyring = createKeyring({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, hsm, cacheTtlMs: 0 });
    // Authorization is the policy module's concern (kms.test.ts); here every call is allowed.
    ops = createKeyOperations({
      keyring,
      authorize: () => Promise.resolve({ decision: 'allow', policies: ['test'], errors: [], decisionId: 'd', policySetVersion: 1 }),
    });
  });
  afterAll(async () => {
    await keyring?.close();
    hsm?.close();
    await audit?.log.close();
    await opened?.cleanup();
    await token?.cleanup();
  });

  it('encrypts, signs and MACs inside the token; the database holds only labels and public keys', async () => {
    for (const [name, type] of [['h-aes', 'aes256-gcm'], ['h-mac', 'hmac-sha256'], ['h-ed', 'ed25519'], ['h-ec', 'ecdsa-p256']] as const) {
      expect((await keyring.create({ name, type, protection: 'hsm' }, ctx)).protection).toBe('hsm');
    }
    const { ciphertext } = value((await ops.encrypt(caller, 'h-aes', [{ plaintext: Buffer.from('in the token'), context: { t: '1' } }])).results[0]);
    expect(value((await ops.decrypt(caller, 'h-aes', [{ ciphertext, context: { t: '1' } }])).results[0]).plaintext.toString()).toBe('in the token');
    const wrong = (await ops.decrypt(caller, 'h-aes', [{ ciphertext, context: { t: '2' } }])).results[0];
    expect(wrong?.ok === false && wrong.error.code).toBe('WARDEN_KMS_DECRYPT_FAILED');

    const message = Buffer.from('signed in hardware');
    for (const name of ['h-ed', 'h-ec']) {
      const { signature } = value((await ops.sign(caller, name, [{ message }])).results[0]);
      expect(value((await ops.verify(caller, name, [{ message, signature }])).results[0]).valid).toBe(true);
      const pub = await keyring.publicKey(name);
      expect(verify(name === 'h-ed' ? null : 'sha256', message, { key: createPublicKey(pub.pem), dsaEncoding: 'der' }, Buffer.from(signature.split(':')[2]!, 'base64url'))).toBe(true);
    }
    const digest = createHash('sha256').update(message).digest();
    const byDigest = value((await ops.sign(caller, 'h-ec', [{ digest }])).results[0]);
    expect(value((await ops.verify(caller, 'h-ec', [{ message, signature: byDigest.signature }])).results[0]).valid).toBe(true);
    const { hmac } = value((await ops.hmac(caller, 'h-mac', [{ data: message }])).results[0]);
    expect(value((await ops.hmacVerify(caller, 'h-mac', [{ data: message, hmac }])).results[0]).valid).toBe(true);

    const rows = await opened.store.db.selectFrom('kms_key_versions').select(['material', 'hsm_label']).execute();
    expect(rows.every((r) => r.material === null && typeof r.hsm_label === 'string')).toBe(true);
  });

  it('keeps the material non-extractable in the token, and erases it on destruction', async () => {
    const key = await keyring.create({ name: 'h-shred', type: 'aes256-gcm', protection: 'hsm' }, ctx);
    const label = `warden-kms-${key.id}-v1`;
    const { ciphertext } = value((await ops.encrypt(caller, 'h-shred', [{ plaintext: randomBytes(16) }])).results[0]);
    expect(hsm.isResident(label)).toBe(true);
    // Read the object's attributes through a separate session: sensitive, not extractable, value unreadable.
    hsm.close();
    try {
      withSoftHsmSession(token, (session) => {
        const found = session.find({ label });
        expect(found.length).toBe(1);
        const object = found.items(0);
        expect(object.getAttribute({ sensitive: null, extractable: null })).toEqual({ sensitive: true, extractable: false });
        let readable = true;
        try {
          object.getAttribute({ value: null });
        } catch {
          readable = false;
        }
        expect(readable).toBe(false);
      });
    } finally {
      hsm = openHsmKeyStore({ library: token.library, tokenLabel: token.label, pin: token.pin });
      keyring = createKeyring({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, hsm, cacheTtlMs: 0 });
      ops = createKeyOperations({ keyring, authorize: () => Promise.resolve({ decision: 'allow', policies: ['test'], errors: [], decisionId: 'd', policySetVersion: 1 }) });
    }
    await keyring.scheduleDestruction('h-shred', 7, ctx);
    expect(await keyring.destroyDue(Date.now() + 8 * DAY)).toEqual(['h-shred']);
    expect(hsm.isResident(label)).toBe(false);
    await expect(keyring.cancelDestruction('h-shred', ctx)).rejects.toMatchObject({ code: 'WARDEN_CONFLICT' });
    const result = (await ops.decrypt(caller, 'h-shred', [{ ciphertext }])).results[0];
    expect(result?.ok === false && result.error.code).toBe('WARDEN_KMS_KEY_DESTROYED');
  });

  it('refuses to import material into an HSM key', async () => {
    const wrapped = wrapKeyMaterial(await keyring.wrappingKey(), randomBytes(32));
    await expect(keyring.import('h-aes', wrapped, ctx)).rejects.toMatchObject({ code: 'WARDEN_KMS_UNSUPPORTED_OPERATION' });
  });
});
