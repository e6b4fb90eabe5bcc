import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WardenError } from '../errors/index.js';
import type { AdminRole, Agent, AgentLookup } from '../identity/types.js';
import { createKeyOperations, createKeyring, keyEntityProvider, wrapKeyMaterial, type Keyring } from '../kms/index.js';
import { createLogger } from '../log/index.js';
import { agentEntityProvider, createAuthorizer, createPolicyEngine } from '../policy/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { buildApp } from './app.js';
import { keyOperationRoutes } from './key-operations.js';
import { keyRoutes } from './keys.js';
import { fakeRequireAdmin } from '../testing/admin-auth.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

const fakeAgentAuth: onRequestAsyncHookHandler = async (request) => {
  const agent = request.headers['x-test-agent'];
  if (typeof agent !== 'string') throw new WardenError('WARDEN_UNAUTHENTICATED', 'token required');
  request.principal = { kind: 'agent', agent, clientId: agent, tokenId: 't', scopes: [], audience: 'x', expiresAt: Date.now() + 60_000 };
  return Promise.resolve();
};

const agent = (name: string): Agent => ({ name, owner: 'o', roles: [], labels: {}, environment: null, region: null, clearance: 0, status: 'active', requireDpop: false, createdAt: 1, updatedAt: 1 });
const lookup: AgentLookup = { get: (n) => Promise.resolve(n.startsWith('bot') ? agent(n) : undefined), onChange: () => () => undefined };

describe('key routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let keyring: Keyring;
  let app: FastifyInstance;
  const as = (role: AdminRole) => ({ 'x-test-role': role });
  const bot = (name = 'bot-1') => ({ 'x-test-agent': name });

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    keyring = createKeyring({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, cacheTtlMs: 0 });
    const engine = createPolicyEngine();
    const set = engine.compile(1, [{ name: 'k.cedar', text: 'permit(principal == Warden::Agent::"bot-1", action, resource is Warden::Key);' }]);
    const authorizer = createAuthorizer({ engine, active: () => set, providers: [agentEntityProvider(lookup), keyEntityProvider(keyring)], audit: audit.log });
    const operations = createKeyOperations({ keyring, authorize: (r, o) => authorizer.authorize(r, o) });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 1_048_576,
      routes: [
        keyRoutes({ keyring, requireAdmin: fakeRequireAdmin }),
        keyOperationRoutes({ operations, authenticateAgent: fakeAgentAuth, sessions: { authenticate: () => Promise.reject(new WardenError('WARDEN_UNAUTHENTICATED', 'no session')) } }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await keyring.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('manages keys: create (201 + receipt), read, update, rotate, versions, destruction; never material', async () => {
    expect((await app.inject({ url: '/v1/keys' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/v1/keys', headers: as('auditor') })).statusCode).toBe(403);
    const created = await app.inject({ method: 'POST', url: '/v1/keys', headers: as('security'), payload: { name: 'orders', type: 'aes256-gcm', labels: { team: 'pay' }, rotationPeriod: '90d' } });
    expect(created.statusCode).toBe(201);
    expect(created.headers['warden-audit-index']).toMatch(/^\d+$/);
    expect(created.json()).toMatchObject({ name: 'orders', type: 'aes256-gcm', state: 'enabled', latestVersion: 1, rotationPeriodMs: 90 * 86_400_000, versions: [{ version: 1, state: 'enabled' }] });
    expect(JSON.stringify(created.json())).not.toMatch(/material|keyId/);
    expect((await app.inject({ method: 'POST', url: '/v1/keys', headers: as('admin'), payload: { name: 'orders', type: 'aes256-gcm' } })).json()).toMatchObject({ code: 'WARDEN_CONFLICT' });
    expect((await app.inject({ url: '/v1/keys', headers: as('admin') })).json()).toMatchObject({ keys: [{ name: 'orders' }] });
    expect((await app.inject({ method: 'POST', url: '/v1/keys/orders/rotate', headers: as('admin') })).json()).toMatchObject({ latestVersion: 2 });
    expect((await app.inject({ method: 'PATCH', url: '/v1/keys/orders', headers: as('admin'), payload: { minDecryptionVersion: 2, rotationPeriod: null } })).json()).toMatchObject({
      minDecryptionVersion: 2,
      rotationPeriodMs: null,
      nextRotationAt: null,
    });
    expect((await app.inject({ method: 'POST', url: '/v1/keys/orders/versions/1/disable', headers: as('admin') })).json()).toMatchObject({ versions: [{ version: 1, state: 'disabled' }, { version: 2 }] });
    const scheduled = await app.inject({ method: 'POST', url: '/v1/keys/orders/schedule-destruction', headers: as('admin'), payload: { days: 7 } });
    expect(scheduled.json()).toMatchObject({ state: 'pending_destruction' });
    expect((await app.inject({ method: 'POST', url: '/v1/keys/orders/cancel-destruction', headers: as('admin') })).json()).toMatchObject({ state: 'disabled', destroyAt: null });
    expect((await app.inject({ url: '/v1/keys/nope', headers: as('admin') })).statusCode).toBe(404);
    // No body: the default 30-day window.
    await app.inject({ method: 'POST', url: '/v1/keys/orders/enable', headers: as('admin') });
    const defaulted = await app.inject({ method: 'POST', url: '/v1/keys/orders/schedule-destruction', headers: as('admin') });
    expect(defaulted.statusCode).toBe(200);
    expect(defaulted.json<{ destroyAt: number }>().destroyAt - Date.now()).toBeGreaterThan(29 * 86_400_000);
  });

  it('refuses malformed requests with 400 and changes nothing', async () => {
    const before = (await keyring.list()).length;
    const bad = [
      { name: 'UPPER', type: 'aes256-gcm' },
      { name: 'k1', type: 'rsa' },
      { name: 'k1', type: 'aes256-gcm', rotationPeriod: '5m' },
      { name: 'k1', type: 'aes256-gcm', rotationPeriod: 'soon' },
      { name: 'k1', type: 'aes256-gcm', extra: true },
    ];
    for (const payload of bad) {
      const res = await app.inject({ method: 'POST', url: '/v1/keys', headers: as('admin'), payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect((await app.inject({ method: 'POST', url: '/v1/keys/orders/schedule-destruction', headers: as('admin'), payload: { days: 3 } })).statusCode).toBe(400);
    expect((await keyring.list()).length).toBe(before);
  });

  it('runs operations for agents: single items, batches with per-item errors, receipts, and refusals', async () => {
    await app.inject({ method: 'POST', url: '/v1/keys', headers: as('admin'), payload: { name: 'data', type: 'aes256-gcm' } });
    const plaintext = Buffer.from('hello').toString('base64');
    const enc = await app.inject({ method: 'POST', url: '/v1/keys/data/encrypt', headers: bot(), payload: { plaintext, context: { tenant: 'acme' } } });
    expect(enc.statusCode).toBe(200);
    expect(enc.headers['warden-audit-index']).toMatch(/^\d+$/);
    const { ciphertext, keyVersion } = enc.json<{ ciphertext: string; keyVersion: number }>();
    expect(keyVersion).toBe(1);
    const dec = await app.inject({ method: 'POST', url: '/v1/keys/data/decrypt', headers: bot(), payload: { ciphertext, context: { tenant: 'acme' } } });
    expect(dec.json()).toEqual({ plaintext, keyVersion: 1 });
    // The largest plaintext's ciphertext still decrypts.
    const big = Buffer.alloc(65_536, 1).toString('base64');
    const bigCt = (await app.inject({ method: 'POST', url: '/v1/keys/data/encrypt', headers: bot(), payload: { plaintext: big } })).json<{ ciphertext: string }>().ciphertext;
    expect((await app.inject({ method: 'POST', url: '/v1/keys/data/decrypt', headers: bot(), payload: { ciphertext: bigCt } })).json()).toMatchObject({ plaintext: big });
    const wrongContext = await app.inject({ method: 'POST', url: '/v1/keys/data/decrypt', headers: bot(), payload: { ciphertext, context: { tenant: 'other' } } });
    expect(wrongContext.statusCode).toBe(400);
    expect(wrongContext.json()).toMatchObject({ code: 'WARDEN_KMS_DECRYPT_FAILED' });

    const batch = await app.inject({ method: 'POST', url: '/v1/keys/data/decrypt', headers: bot(), payload: { batch: [{ ciphertext, context: { tenant: 'acme' } }, { ciphertext: 'warden:v1:AAAA' }] } });
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toEqual({ batch: [{ plaintext, keyVersion: 1 }, { error: { code: 'WARDEN_KMS_DECRYPT_FAILED', status: 400, title: 'Decryption failed', detail: 'decryption failed' } }] });

    const dk = await app.inject({ method: 'POST', url: '/v1/keys/data/datakey', headers: bot(), payload: { bits: 256, plaintext: true } });
    expect(Buffer.from(dk.json<{ plaintext: string }>().plaintext, 'base64')).toHaveLength(32);

    const other = await app.inject({ method: 'POST', url: '/v1/keys/data/encrypt', headers: bot('bot-2'), payload: { plaintext } });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN' });
    expect((await app.inject({ method: 'POST', url: '/v1/keys/ghost/encrypt', headers: bot(), payload: { plaintext } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/v1/keys/data/encrypt', payload: { plaintext } })).statusCode).toBe(401);
    // An admin token that does not authenticate is a 401 too, never an agent fallback.
    expect((await app.inject({ method: 'POST', url: '/v1/keys/data/encrypt', headers: { authorization: 'Bearer wdn_nope', ...bot() }, payload: { plaintext } })).statusCode).toBe(401);
  });

  it('validates operation bodies: base64, sizes, batch bounds, message xor digest', async () => {
    const bad: [string, unknown][] = [
      ['encrypt', { plaintext: 'not base64!' }],
      ['encrypt', { plaintext: 'aGk=', context: { k: 1 } }],
      ['encrypt', { plaintext: Buffer.alloc(70_000).toString('base64') }],
      ['encrypt', { batch: [] }],
      ['encrypt', { batch: Array.from({ length: 1001 }, () => ({ plaintext: 'aGk=' })) }],
      ['datakey', { bits: 100 }],
      ['sign', { message: 'aGk=', digest: 'aGk=' }],
      ['sign', {}],
      ['encrypt', { plaintext: 'aGk=', surprise: 1 }],
      ['encrypt', { plaintext: 'aGk=', context: { k: 'lone \ud800 surrogate' } }],
      ['encrypt', { plaintext: 'aGk=', context: { k: 'é'.repeat(600) } }],
    ];
    for (const [op, payload] of bad) {
      const res = await app.inject({ method: 'POST', url: `/v1/keys/data/${op}`, headers: bot(), payload: payload as Record<string, unknown> });
      expect(res.statusCode, `${op} ${JSON.stringify(payload).slice(0, 80)}`).toBe(400);
    }
  });

  it('publishes the import wrapping key and imports material', async () => {
    await app.inject({ method: 'POST', url: '/v1/keys', headers: as('admin'), payload: { name: 'mine', type: 'hmac-sha256' } });
    const info = await app.inject({ url: '/v1/keys/mine/import', headers: as('admin') });
    expect(info.json()).toMatchObject({ algorithm: 'RSA_AES_KEY_WRAP_SHA_256', wrappingKeyBits: 3072 });
    const material = wrapKeyMaterial(info.json<{ wrappingKey: string }>().wrappingKey, Buffer.alloc(32, 7)).toString('base64');
    const imported = await app.inject({ method: 'POST', url: '/v1/keys/mine/import', headers: as('admin'), payload: { material } });
    expect(imported.json()).toMatchObject({ latestVersion: 2, versions: [{ origin: 'generated' }, { origin: 'imported' }] });
    const bad = await app.inject({ method: 'POST', url: '/v1/keys/mine/import', headers: as('admin'), payload: { material: Buffer.alloc(400).toString('base64') } });
    expect(bad.json()).toMatchObject({ code: 'WARDEN_KMS_IMPORT_INVALID' });
  });
});
