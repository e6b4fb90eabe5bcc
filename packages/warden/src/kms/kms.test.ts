import { createDecipheriv, createHash, createPublicKey, verify as verifyWith, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryBody } from '../audit/index.js';
import { openBarrier, type Barrier } from '../barrier/index.js';
import { isWardenError } from '../errors/index.js';
import type { ChangeContext } from '../identity/agents.js';
import type { Agent, AgentLookup } from '../identity/types.js';
import { agentEntityProvider, createAuthorizer, createPolicyEngine } from '../policy/index.js';
import { createBarrierKeyringRepository, openStore, type Store } from '../store/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { wrapKeyMaterial } from './byok.js';
import { ciphertextAad, parseCiphertext } from './ciphertext.js';
import { keyEntityProvider } from './key-entities.js';
import { createKeyring, type Keyring } from './keyring.js';
import { generateMaterial } from './key-material.js';
import { createKeyOperations, type Caller, type ItemResult, type KeyOperations } from './operations.js';
import { schedulerTransaction } from './scheduler.js';

const ctx: ChangeContext = { actor: { type: 'admin', id: 'alice' } };
const agentCaller = (name: string): Caller => ({ principal: { type: 'Warden::Agent', id: name }, actor: { type: 'agent', id: name } });
const DAY = 86_400_000;

function agent(name: string): Agent {
  return { name, owner: 'ana', roles: ['apps'], labels: {}, environment: null, region: null, clearance: 1, status: 'active', requireDpop: false, createdAt: 1, updatedAt: 1 };
}
const agents: AgentLookup = {
  get: (name) => Promise.resolve(['app', 'tenant-bot', 'nobody'].includes(name) ? agent(name) : undefined),
  onChange: () => () => undefined,
};

const policies = `
@id("app-all-keys")
permit(principal == Warden::Agent::"app", action, resource is Warden::Key);

@id("tenant-acme-only")
permit(principal == Warden::Agent::"tenant-bot", action in [Warden::Action::"kms:encrypt", Warden::Action::"kms:decrypt"], resource == Warden::Key::"payments")
  when { context has encryptionContext && context.encryptionContext.contains({ key: "tenant", value: "acme" }) };
`;

function value<T>(result: ItemResult<T> | undefined): T {
  if (!result?.ok) throw new Error(`expected success, got ${result ? result.error.code : 'nothing'}`);
  return result.value;
}
function code<T>(result: ItemResult<T> | undefined): string {
  if (!result || result.ok) throw new Error('expected a failure');
  return result.error.code;
}
async function auditBodies(audit: TestAuditLog): Promise<AuditEntryBody[]> {
  const entries = await audit.log.entries(0, await audit.log.size());
  return entries.flatMap((e) => (e.body === null ? [] : [JSON.parse(e.body) as AuditEntryBody]));
}
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isWardenError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe.each(storeBackends)('KMS on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let barrier: Barrier;
  let keyring: Keyring;
  let ops: KeyOperations;
  const clock = Date.now();
  const now = () => clock;

  beforeAll(async () => {
    opened = await backend.openMigrated();
    barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(opened.store.db) });
    audit = await openTestAuditLog(opened.store, { barrier });
    keyring = createKeyring({ db: opened.store.db, barrier, audit: audit.log, now, cacheTtlMs: 0, lockedTransaction: schedulerTransaction(opened.store.db, opened.store.kind) });
    const engine = createPolicyEngine();
    const set = engine.compile(1, [{ name: 'kms.cedar', text: policies }]);
    const authorizer = createAuthorizer({ engine, active: () => set, providers: [agentEntityProvider(agents), keyEntityProvider(keyring)], audit: audit.log, cacheSize: 0 });
    ops = createKeyOperations({ keyring, authorize: (r, o) => authorizer.authorize(r, o), now });
    for (const [name, type] of [['payments', 'aes256-gcm'], ['macs', 'hmac-sha256'], ['ed', 'ed25519'], ['ec', 'ecdsa-p256']] as const) {
      await keyring.create({ name, type, labels: { team: 'pay' } }, ctx);
    }
  });
  afterAll(async () => {
    await keyring?.close();
    await audit?.log.close();
    barrier?.close();
    await opened?.cleanup();
  });

  const app = agentCaller('app');

  it('creates keys with one version and refuses duplicates and bad names', async () => {
    const details = await keyring.get('payments');
    expect(details).toMatchObject({ name: 'payments', type: 'aes256-gcm', protection: 'software', state: 'enabled', latestVersion: 1, minDecryptionVersion: 1 });
    expect(details.id).toMatch(/^key_[0-9a-f]{32}$/);
    expect(details.versions).toEqual([expect.objectContaining({ version: 1, state: 'enabled', origin: 'generated', usageCount: 0 })]);
    expect(await refusal(keyring.create({ name: 'payments', type: 'aes256-gcm' }, ctx))).toBe('WARDEN_CONFLICT');
    expect(await refusal(keyring.create({ name: 'Bad Name', type: 'aes256-gcm' }, ctx))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await refusal(keyring.create({ name: 'h', type: 'aes256-gcm', protection: 'hsm' }, ctx))).toBe('WARDEN_KMS_HSM_UNAVAILABLE');
    expect(await refusal(keyring.get('nope'))).toBe('WARDEN_NOT_FOUND');
  });

  it('round-trips encrypt/decrypt, rewrap and data keys, with the context bound', async () => {
    const context = { tenant: 'acme', purpose: 'invoice' };
    const enc = await ops.encrypt(app, 'payments', [{ plaintext: Buffer.from('card 4111'), context }]);
    const { ciphertext, keyVersion } = value(enc.results[0]);
    expect(keyVersion).toBe(1);
    expect(ciphertext).toMatch(/^warden:v1:[A-Za-z0-9_-]+$/);
    // Context order does not matter; its content does.
    const dec = await ops.decrypt(app, 'payments', [{ ciphertext, context: { purpose: 'invoice', tenant: 'acme' } }]);
    expect(value(dec.results[0]).plaintext.toString()).toBe('card 4111');
    expect(dec.decisions[0]?.decision).toBe('allow');

    const rewrapped = value((await ops.rewrap(app, 'payments', [{ ciphertext, context }])).results[0]);
    expect(rewrapped.ciphertext).not.toBe(ciphertext);
    expect(value((await ops.decrypt(app, 'payments', [{ ciphertext: rewrapped.ciphertext, context }])).results[0]).plaintext.toString()).toBe('card 4111');

    const [withPlain, without] = (await ops.dataKey(app, 'payments', [{ bits: 256, plaintext: true, context }, { bits: 128, plaintext: false }])).results;
    const dk = value(withPlain);
    expect(dk.plaintext).toHaveLength(32);
    expect(value((await ops.decrypt(app, 'payments', [{ ciphertext: dk.ciphertext, context }])).results[0]).plaintext.equals(dk.plaintext!)).toBe(true);
    expect(value(without).plaintext).toBeUndefined();
    expect(value((await ops.decrypt(app, 'payments', [{ ciphertext: value(without).ciphertext }])).results[0]).plaintext).toHaveLength(16);
  });

  it('fails every tampered or foreign ciphertext with one generic code', async () => {
    const context = { tenant: 'acme' };
    const { ciphertext } = value((await ops.encrypt(app, 'payments', [{ plaintext: Buffer.from('secret'), context }])).results[0]);
    const [, , body] = ciphertext.split(':') as [string, string, string];
    const raw = Buffer.from(body, 'base64url');
    const flip = (at: number) => {
      const copy = Buffer.from(raw);
      copy[at]! ^= 1;
      return `warden:v1:${copy.toString('base64url')}`;
    };
    await keyring.create({ name: 'other', type: 'aes256-gcm' }, ctx);
    const foreign = value((await ops.encrypt(app, 'other', [{ plaintext: Buffer.from('secret'), context }])).results[0]).ciphertext;
    const cases = [
      { ciphertext: flip(raw.length - 1), context }, // tag
      { ciphertext: flip(40), context }, // ciphertext body
      { ciphertext: flip(1), context }, // algorithm byte
      { ciphertext: flip(5), context }, // key id
      { ciphertext: flip(20), context }, // iv
      { ciphertext: ciphertext.replace('warden:v1:', 'warden:v2:'), context }, // header version
      { ciphertext, context: { tenant: 'other' } },
      { ciphertext, context: {} },
      { ciphertext: foreign, context }, // another key's ciphertext
      { ciphertext: 'warden:v1:AAAA', context },
      { ciphertext: 'not a ciphertext', context },
    ];
    const results = (await ops.decrypt(app, 'payments', cases)).results;
    expect(results.map((r) => code(r))).toEqual(cases.map(() => 'WARDEN_KMS_DECRYPT_FAILED'));
    // …and the messages are identical too.
    expect(new Set(results.map((r) => (r.ok ? '' : r.error.message))).size).toBe(1);
  });

  it('signs, verifies and MACs with every key type; the public key verifies outside Warden', async () => {
    const message = Buffer.from('pay 10 EUR to bob');
    for (const name of ['ed', 'ec']) {
      const { signature, keyVersion } = value((await ops.sign(app, name, [{ message }])).results[0]);
      expect(keyVersion).toBe(1);
      const [good, tampered, garbage] = (await ops.verify(app, name, [
        { message, signature },
        { message: Buffer.from('pay 99 EUR to eve'), signature },
        { message, signature: 'nonsense' },
      ])).results;
      expect(value(good).valid).toBe(true);
      expect(value(tampered).valid).toBe(false);
      expect(code(garbage)).toBe('WARDEN_KMS_UNSUPPORTED_OPERATION');
      const pub = await keyring.publicKey(name);
      const sig = Buffer.from(signature.split(':')[2]!, 'base64url');
      expect(verifyWith(name === 'ed' ? null : 'sha256', message, { key: createPublicKey(pub.pem), dsaEncoding: 'der' }, sig)).toBe(true);
      expect(pub.jwk).toMatchObject({ kty: name === 'ed' ? 'OKP' : 'EC' });
      expect(pub.jwk).not.toHaveProperty('d');
    }
    const { hmac } = value((await ops.hmac(app, 'macs', [{ data: message }])).results[0]);
    const [ok, bad] = (await ops.hmacVerify(app, 'macs', [{ data: message, hmac }, { data: Buffer.from('x'), hmac }])).results;
    expect(value(ok).valid).toBe(true);
    expect(value(bad).valid).toBe(false);
    // Operations that do not fit the key, per item.
    const wrong = await ops.encrypt(app, 'ed', [{ plaintext: message }]);
    expect(code(wrong.results[0])).toBe('WARDEN_KMS_UNSUPPORTED_OPERATION');
    expect(code((await ops.sign(app, 'ec', [{ digest: createHash('sha256').update(message).digest() }])).results[0])).toBe('WARDEN_KMS_UNSUPPORTED_OPERATION');
    expect(await refusal(keyring.publicKey('payments'))).toBe('WARDEN_KMS_UNSUPPORTED_OPERATION');
  });

  it('refuses callers without a permitting policy, and context-limited callers outside their context; unknown keys look forbidden', async () => {
    const nobody = await ops.encrypt(agentCaller('nobody'), 'payments', [{ plaintext: Buffer.from('x') }]);
    expect(code(nobody.results[0])).toBe('WARDEN_FORBIDDEN');
    expect(nobody.decisions[0]).toMatchObject({ decision: 'deny', policies: [] });
    const tenant = agentCaller('tenant-bot');
    const [acme, globex, none] = (await ops.encrypt(tenant, 'payments', [
      { plaintext: Buffer.from('a'), context: { tenant: 'acme' } },
      { plaintext: Buffer.from('b'), context: { tenant: 'globex' } },
      { plaintext: Buffer.from('c') },
    ])).results;
    expect(value(acme).keyVersion).toBe(1);
    expect(code(globex)).toBe('WARDEN_FORBIDDEN');
    expect(code(none)).toBe('WARDEN_FORBIDDEN');
    // tenant-bot may not use another key, sign, or ask for a plaintext data key.
    expect(code((await ops.dataKey(tenant, 'payments', [{ bits: 256, plaintext: true, context: { tenant: 'acme' } }])).results[0])).toBe('WARDEN_FORBIDDEN');
    expect(code((await ops.encrypt(app, 'no-such-key', [{ plaintext: Buffer.from('x') }])).results[0])).toBe('WARDEN_FORBIDDEN');
    // Every decision is in the audit log, the context only as an HMAC.
    const entries = await auditBodies(audit);
    const decisions = entries.filter((e) => e.action === 'kms:encrypt' && e.actor.id === 'tenant-bot');
    expect(decisions.map((e) => e.decision?.effect)).toEqual(['allow', 'deny', 'deny']);
    expect(JSON.stringify(decisions)).not.toContain('globex');
  });

  it('one bad item does not fail the batch; items with one context share a decision', async () => {
    const before = await audit.log.size();
    const items = [...Array.from({ length: 5 }, (_, n) => ({ ciphertext: '', plaintext: Buffer.from(`item ${n}`) }))];
    const enc = await ops.encrypt(app, 'payments', items);
    expect(enc.decisions).toHaveLength(1);
    expect((await audit.log.size()) - before).toBe(1);
    const cts = enc.results.map((r) => value(r).ciphertext);
    const dec = await ops.decrypt(app, 'payments', [{ ciphertext: cts[0]! }, { ciphertext: 'garbage' }, { ciphertext: cts[2]! }]);
    expect(dec.results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(value(dec.results[2]).plaintext.toString()).toBe('item 2');
  });

  it('rotates: new encryptions use the latest version, old ones decrypt until minDecryptionVersion passes them', async () => {
    await keyring.create({ name: 'rot', type: 'aes256-gcm' }, ctx);
    const v1 = value((await ops.encrypt(app, 'rot', [{ plaintext: Buffer.from('one') }])).results[0]).ciphertext;
    const rotated = await keyring.rotate('rot', ctx);
    expect(rotated.latestVersion).toBe(2);
    expect(rotated.versions.map((v) => v.version)).toEqual([1, 2]);
    const v2 = value((await ops.encrypt(app, 'rot', [{ plaintext: Buffer.from('two') }])).results[0]);
    expect(v2.keyVersion).toBe(2);
    expect(v2.ciphertext.startsWith('warden:v2:')).toBe(true);
    expect(value((await ops.decrypt(app, 'rot', [{ ciphertext: v1 }])).results[0]).plaintext.toString()).toBe('one');
    // Rewrap moves an old ciphertext to the latest version without revealing it.
    expect(value((await ops.rewrap(app, 'rot', [{ ciphertext: v1 }])).results[0]).keyVersion).toBe(2);
    await keyring.update('rot', { minDecryptionVersion: 2 }, ctx);
    expect(code((await ops.decrypt(app, 'rot', [{ ciphertext: v1 }])).results[0])).toBe('WARDEN_KMS_DECRYPT_FAILED');
    expect(value((await ops.decrypt(app, 'rot', [{ ciphertext: v2.ciphertext }])).results[0]).plaintext.toString()).toBe('two');
    expect(await refusal(keyring.update('rot', { minDecryptionVersion: 3 }, ctx))).toBe('WARDEN_VALIDATION_FAILED');
  });

  it('refuses operations on a disabled key, a disabled version, a key pending destruction and a destroyed key, with their codes', async () => {
    await keyring.create({ name: 'life', type: 'aes256-gcm' }, ctx);
    const ct = value((await ops.encrypt(app, 'life', [{ plaintext: Buffer.from('keep me') }])).results[0]).ciphertext;
    await keyring.disable('life', ctx);
    expect(code((await ops.encrypt(app, 'life', [{ plaintext: Buffer.from('x') }])).results[0])).toBe('WARDEN_KMS_KEY_DISABLED');
    await keyring.enable('life', ctx);
    await keyring.setVersionState('life', 1, 'disabled', ctx);
    expect(code((await ops.decrypt(app, 'life', [{ ciphertext: ct }])).results[0])).toBe('WARDEN_KMS_VERSION_DISABLED');
    expect(code((await ops.encrypt(app, 'life', [{ plaintext: Buffer.from('x') }])).results[0])).toBe('WARDEN_KMS_VERSION_DISABLED');
    await keyring.setVersionState('life', 1, 'enabled', ctx);
    expect(await refusal(keyring.setVersionState('life', 9, 'disabled', ctx))).toBe('WARDEN_NOT_FOUND');

    expect(await refusal(keyring.scheduleDestruction('life', 6, ctx))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await refusal(keyring.scheduleDestruction('life', 31, ctx))).toBe('WARDEN_VALIDATION_FAILED');
    const pending = await keyring.scheduleDestruction('life', 7, ctx);
    expect(pending.state).toBe('pending_destruction');
    expect(pending.destroyAt).toBe(clock + 7 * DAY);
    expect(code((await ops.decrypt(app, 'life', [{ ciphertext: ct }])).results[0])).toBe('WARDEN_KMS_KEY_PENDING_DESTRUCTION');
    // Cancel: the key comes back disabled, and decrypts once enabled.
    expect((await keyring.cancelDestruction('life', ctx)).state).toBe('disabled');
    await keyring.enable('life', ctx);
    expect(value((await ops.decrypt(app, 'life', [{ ciphertext: ct }])).results[0]).plaintext.toString()).toBe('keep me');

    await keyring.scheduleDestruction('life', 7, ctx);
    expect(await keyring.destroyDue(clock + 6 * DAY)).toEqual([]);
    expect(await keyring.destroyDue(clock + 7 * DAY)).toEqual(['life']);
    const destroyed = await keyring.get('life');
    expect(destroyed.state).toBe('destroyed');
    expect(destroyed.versions.every((v) => v.state === 'destroyed')).toBe(true);
    expect(code((await ops.decrypt(app, 'life', [{ ciphertext: ct }])).results[0])).toBe('WARDEN_KMS_KEY_DESTROYED');
    expect(await refusal(keyring.enable('life', ctx))).toBe('WARDEN_KMS_KEY_DESTROYED');
    expect(await refusal(keyring.rotate('life', ctx))).toBe('WARDEN_KMS_KEY_DESTROYED');
    // The material is gone from the store: nothing can ever open the ciphertext again.
    const rows = await opened.store.db.selectFrom('kms_key_versions').select(['material', 'state']).where('key_id', '=', destroyed.id).execute();
    expect(rows).toEqual([{ material: null, state: 'destroyed' }]);
    const entries = await auditBodies(audit);
    expect(entries.some((e) => e.action === 'kms.key.destroy' && e.resource?.id === 'life')).toBe(true);
  });

  it('imports wrapped material (BYOK) as a new version and refuses bad imports', async () => {
    await keyring.create({ name: 'byok', type: 'aes256-gcm' }, ctx);
    const material = generateMaterial('aes256-gcm');
    const wrappingKey = await keyring.wrappingKey();
    expect(wrappingKey).toContain('BEGIN PUBLIC KEY');
    const imported = await keyring.import('byok', wrapKeyMaterial(wrappingKey, material), ctx);
    expect(imported.latestVersion).toBe(2);
    expect(imported.versions[1]).toMatchObject({ version: 2, origin: 'imported' });
    const { ciphertext } = value((await ops.encrypt(app, 'byok', [{ plaintext: Buffer.from('mine'), context: { a: 'b' } }])).results[0]);
    expect(ciphertext.startsWith('warden:v2:')).toBe(true);
    // A third party holding the material can open it with plain AES-GCM (the format is documented).
    const parts = parseCiphertext(ciphertext);
    const decipher = createDecipheriv('aes-256-gcm', material, parts.iv);
    decipher.setAAD(ciphertextAad(parts.keyId, 2, { a: 'b' }));
    decipher.setAuthTag(parts.sealed.subarray(parts.sealed.length - 16));
    expect(Buffer.concat([decipher.update(parts.sealed.subarray(0, parts.sealed.length - 16)), decipher.final()]).toString()).toBe('mine');

    expect(await refusal(keyring.import('byok', Buffer.from('garbage'), ctx))).toBe('WARDEN_KMS_IMPORT_INVALID');
    expect(await refusal(keyring.import('byok', wrapKeyMaterial(wrappingKey, Buffer.alloc(16)), ctx))).toBe('WARDEN_KMS_IMPORT_INVALID');
    expect((await keyring.get('byok')).latestVersion).toBe(2);
  });

  it('counts usage per version', async () => {
    await keyring.create({ name: 'counted', type: 'hmac-sha256' }, ctx);
    await ops.hmac(app, 'counted', [{ data: Buffer.from('a') }, { data: Buffer.from('b') }, { data: Buffer.from('c') }]);
    await keyring.flushUsage();
    const [v1] = (await keyring.get('counted')).versions;
    expect(v1).toMatchObject({ usageCount: 3, lastUsedAt: clock });
  });

  it('rotates automatically when the period passes, exactly once even with two nodes', async () => {
    await keyring.create({ name: 'auto', type: 'aes256-gcm', rotationPeriodMs: 90 * DAY }, ctx);
    expect((await keyring.get('auto')).nextRotationAt).toBe(clock + 90 * DAY);
    expect(await keyring.rotateDue(clock + DAY)).toEqual([]);
    if (backend.name === 'sqlite') {
      // One node (SQLite is embedded): rotated once, then not due until the next period.
      expect(await keyring.rotateDue(clock + 91 * DAY)).toEqual(['auto']);
      expect(await keyring.rotateDue(clock + 89 * DAY)).toEqual([]);
      expect((await keyring.get('auto')).latestVersion).toBe(2);
      return;
    }
    // A second node: its own store connection and keyring over the same database.
    const other: Store = await openStore(opened.config);
    try {
      const second = createKeyring({ db: other.db, barrier, audit: audit.log, now, lockedTransaction: schedulerTransaction(other.db, other.kind) });
      const at = clock + 91 * DAY;
      const [a, b] = await Promise.all([keyring.rotateDue(at), second.rotateDue(at)]);
      expect([...a, ...b].filter((n) => n === 'auto')).toEqual(['auto']);
      await second.close();
    } finally {
      await other.close();
    }
    const auto = await keyring.get('auto');
    expect(auto.latestVersion).toBe(2);
    expect(auto.nextRotationAt).toBe(clock + 90 * DAY);
  });

  it('stores no key material in clear', async () => {
    const material = generateMaterial('aes256-gcm');
    await keyring.create({ name: 'clear-check', type: 'aes256-gcm' }, ctx);
    const wrappingKey = await keyring.wrappingKey();
    await keyring.import('clear-check', wrapKeyMaterial(wrappingKey, material), ctx);
    const rows = await opened.store.db.selectFrom('kms_key_versions').select(['material']).execute();
    const stored = Buffer.concat(rows.map((r) => r.material ?? Buffer.alloc(0)));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.includes(material)).toBe(false);
    const sys = await opened.store.db.selectFrom('system_keys').select('value').execute();
    expect(sys.every((r) => !r.value.includes(Buffer.from('PRIVATE KEY')))).toBe(true);
    if (opened.config.kind === 'sqlite') {
      // The raw database file and its WAL, byte for byte.
      const path = opened.config.path;
      const raw = Buffer.concat([readFileSync(path), ...(existsSync(`${path}-wal`) ? [readFileSync(`${path}-wal`)] : [])]);
      expect(raw.includes(material)).toBe(false);
    }
  });
});
