import type { webcrypto } from 'node:crypto';
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { openBarrier, type Barrier } from '../barrier/index.js';
import { createBarrierKeyringRepository } from '../store/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { CLIENT_ASSERTION_TYPE } from './client-assertion.js';
import { OAuthError, openTokenService, type ClientAuthInput, type TokenService } from './token-service.js';
import type { Agent, AgentLookup } from './types.js';

const issuer = 'https://warden.test';
const tokenEndpoint = `${issuer}/oauth2/token`;

async function oauthError(promise: Promise<unknown>, error: string, reason: string): Promise<OAuthError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof OAuthError)) throw new Error(`expected an OAuthError, got ${String(err)}`);
  expect({ error: err.error, reason: err.reason }).toEqual({ error, reason });
  return err;
}

describe.each(storeBackends)('token service on $name', (backend) => {
  let opened: OpenedTestStore;
  let barrier: Barrier;
  let service: TokenService;
  const events: AuditEvent[] = [];
  const agents = new Map<string, Agent>();
  const keys = new Map<string, JWK[]>();
  let botKey: webcrypto.CryptoKeyPair;
  const put = (name: string, patch: Partial<Agent> = {}) =>
    agents.set(name, { name, owner: 'o', roles: [], labels: {}, environment: null, region: null, clearance: 0, status: 'active', requireDpop: false, createdAt: 0, updatedAt: 0, ...patch });
  const lookup: AgentLookup = { get: async (n) => agents.get(n), onChange: () => () => undefined };

  beforeAll(async () => {
    opened = await backend.openMigrated();
    barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(opened.store.db) });
    put('bot');
    put('off', { status: 'disabled' });
    put('strict', { requireDpop: true });
    botKey = await generateKeyPair('Ed25519', { extractable: true });
    keys.set('bot', [{ ...(await exportJWK(botKey.publicKey)), kid: 'k1' }]);
    service = await openTokenService({
      db: opened.store.db,
      barrier,
      audit: { append: async (e) => void events.push(e) },
      lookup,
      credentials: { verifySecret: async (id, secret) => secret === `${id}-secret`, publicKeys: async (id) => keys.get(id) ?? [] },
      config: { issuer, tokenTtl: 120_000, resources: ['https://api.example.com'] },
      refreshInterval: 0,
    });
  });
  afterAll(async () => {
    service.close();
    barrier.close();
    await opened.cleanup();
  });

  const grant = (client: ClientAuthInput, extra: { resources?: string[]; scope?: string; grantType?: string; dpop?: string } = {}) =>
    service.token({ grantType: extra.grantType ?? 'client_credentials', resources: extra.resources ?? [], scope: extra.scope, client, dpop: extra.dpop });
  const assertion = (patch: Record<string, unknown> = {}, key: webcrypto.CryptoKey = botKey.privateKey, alg = 'EdDSA') => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: 'bot', sub: 'bot', aud: tokenEndpoint, jti: randomUUID(), iat: now, exp: now + 60, ...patch })
      .setProtectedHeader({ alg, kid: 'k1' })
      .sign(key);
  };
  const jwt = (a: string): ClientAuthInput => ({ assertionType: CLIENT_ASSERTION_TYPE, assertion: a });

  it('issues tokens to clients authenticated by secret (basic and post), audited', async () => {
    const issued = await grant({ basic: { clientId: 'bot', secret: 'bot-secret' } }, { scope: 'tools:read tools:read mcp' });
    expect(issued).toMatchObject({ tokenType: 'Bearer', expiresIn: 120, scope: 'tools:read mcp' });
    const principal = await service.verifier.verify({ authorization: `Bearer ${issued.accessToken}`, method: 'GET', url: `${issuer}/mcp`, resource: `${issuer}/mcp` });
    expect(principal.scopes).toEqual(['tools:read', 'mcp']);
    await grant({ clientId: 'bot', clientSecret: 'bot-secret' }, { resources: ['https://api.example.com'] });
    expect(events.filter((e) => e.action === 'token.issue' && e.outcome === 'success').length).toBeGreaterThanOrEqual(2);
  });

  it('refuses bad secrets, unknown clients and several methods at once', async () => {
    const err = await oauthError(grant({ basic: { clientId: 'bot', secret: 'nope' } }), 'invalid_client', 'bad_secret');
    expect(err.status).toBe(401);
    expect(events.at(-1)).toMatchObject({ action: 'token.issue', outcome: 'failure', details: { reason: 'bad_secret' } });
    await oauthError(grant({ clientId: 'ghost', clientSecret: 'ghost-secret' }), 'invalid_client', 'agent_unknown');
    await oauthError(grant({}), 'invalid_client', 'no_client_auth');
    await oauthError(grant({ basic: { clientId: 'bot', secret: 'bot-secret' }, clientSecret: 'bot-secret' }), 'invalid_request', 'multiple_client_auth');
    await oauthError(grant({ basic: 'malformed' }), 'invalid_client', 'malformed_basic');
    await oauthError(grant({ clientId: 'off', clientSecret: 'off-secret' }), 'unauthorized_client', 'agent_disabled');
  });

  it('refuses bad grant types, unknown resources and malformed scopes', async () => {
    const client = { clientId: 'bot', clientSecret: 'bot-secret' };
    await oauthError(grant(client, { grantType: 'password' }), 'unsupported_grant_type', 'unsupported_grant_type');
    await oauthError(service.token({ grantType: undefined, resources: [], client }), 'invalid_request', 'missing_grant_type');
    await oauthError(grant(client, { resources: ['https://evil.example.com'] }), 'invalid_target', 'unknown_resource');
    await oauthError(grant(client, { resources: [`${issuer}/mcp`, `${issuer}/v1/keys`] }), 'invalid_target', 'multiple_resources');
    await oauthError(grant(client, { scope: 'a "b' }), 'invalid_scope', 'bad_scope');
  });

  it('accepts a private_key_jwt assertion once, for the token endpoint or the issuer', async () => {
    const a = await assertion();
    await expect(grant(jwt(a))).resolves.toMatchObject({ tokenType: 'Bearer' });
    await oauthError(grant(jwt(a)), 'invalid_client', 'assertion_replay');
    await expect(grant(jwt(await assertion({ aud: issuer })))).resolves.toBeDefined();
    await expect(grant({ ...jwt(await assertion()), clientId: 'bot' })).resolves.toBeDefined();
  });

  it('refuses assertions for another audience, too long-lived, expired, by other keys or algorithms', async () => {
    await oauthError(grant(jwt(await assertion({ aud: 'https://other.example.com/token' }))), 'invalid_client', 'assertion_wrong_audience');
    const now = Math.floor(Date.now() / 1000);
    await oauthError(grant(jwt(await assertion({ exp: now + 3600 }))), 'invalid_client', 'assertion_lifetime_too_long');
    await oauthError(grant(jwt(await assertion({ exp: now - 120 }))), 'invalid_client', 'assertion_expired');
    await oauthError(grant(jwt(await assertion({ exp: undefined }))), 'invalid_client', 'assertion_invalid');
    await oauthError(grant(jwt(await assertion({ sub: 'other' }))), 'invalid_client', 'assertion_wrong_subject');
    await oauthError(grant({ ...jwt(await assertion()), clientId: 'other' }), 'invalid_client', 'assertion_wrong_subject');
    const stranger = await generateKeyPair('Ed25519');
    await oauthError(grant(jwt(await assertion({}, stranger.privateKey))), 'invalid_client', 'assertion_bad_signature');
    const hs = new SignJWT({ iss: 'bot', sub: 'bot', aud: tokenEndpoint, jti: randomUUID(), exp: now + 60 }).setProtectedHeader({ alg: 'HS256' });
    await oauthError(grant(jwt(await hs.sign(Buffer.from(JSON.stringify(keys.get('bot')![0]))))), 'invalid_client', 'assertion_bad_alg');
    await oauthError(grant({ assertionType: 'urn:other', assertion: await assertion() }), 'invalid_client', 'bad_assertion_type');
    await oauthError(grant(jwt('x'.repeat(9000))), 'invalid_client', 'assertion_malformed');
  });

  it('binds tokens to a DPoP key and requires DPoP for requireDpop agents', async () => {
    const dpopKey = await generateKeyPair('ES256', { extractable: true });
    const proof = (htu = tokenEndpoint) =>
      new SignJWT({ htm: 'POST', htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: {} })
        .sign(dpopKey.privateKey);
    const withJwk = async (htu?: string) => {
      const jwk = await exportJWK(dpopKey.publicKey);
      return new SignJWT({ htm: 'POST', htu: htu ?? tokenEndpoint, jti: randomUUID(), iat: Math.floor(Date.now() / 1000) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(dpopKey.privateKey);
    };
    const issued = await grant({ clientId: 'strict', clientSecret: 'strict-secret' }, { dpop: await withJwk() });
    expect(issued.tokenType).toBe('DPoP');
    const introspection = await service.introspect(issued.accessToken, 'strict');
    expect(introspection).toMatchObject({ active: true, token_type: 'DPoP', sub: 'strict', client_id: 'strict' });
    expect(await service.introspect(issued.accessToken, 'bot')).toEqual({ active: false });
    await oauthError(grant({ clientId: 'strict', clientSecret: 'strict-secret' }), 'invalid_dpop_proof', 'dpop_required');
    await oauthError(grant({ clientId: 'bot', clientSecret: 'bot-secret' }, { dpop: await withJwk(`${issuer}/other`) }), 'invalid_dpop_proof', 'dpop_wrong_url');
    await oauthError(grant({ clientId: 'bot', clientSecret: 'bot-secret' }, { dpop: await proof() }), 'invalid_dpop_proof', 'dpop_bad_key');
  });

  it('revokes only its own tokens and ignores unknown ones', async () => {
    const mine = await grant({ clientId: 'bot', clientSecret: 'bot-secret' });
    await service.revoke(mine.accessToken, 'someone-else');
    expect(await service.introspect(mine.accessToken, 'bot')).toMatchObject({ active: true });
    await service.revoke('not-a-token', 'bot');
    await service.revoke(mine.accessToken, 'bot');
    expect(await service.introspect(mine.accessToken, 'bot')).toEqual({ active: false });
  });

  it('stores the private signing key only as barrier ciphertext', async () => {
    const rows = await opened.store.db.selectFrom('token_signing_keys').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(barrier.versionOf(row.private_key)).toBeGreaterThan(0);
      expect(JSON.parse(row.public_jwk)).not.toHaveProperty('d');
    }
  });
});
