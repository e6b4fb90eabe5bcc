import type { webcrypto } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { openBarrier, type Barrier } from '../barrier/index.js';
import { openTokenService, type TokenService } from '../identity/token-service.js';
import type { Agent, AgentLookup } from '../identity/types.js';
import { createLogger } from '../log/index.js';
import { createBarrierKeyringRepository } from '../store/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { requireAgent } from './agent-auth.js';
import { buildApp } from './app.js';
import { oauthRoutes } from './oauth.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe('OAuth routes', () => {
  let opened: OpenedTestStore;
  let barrier: Barrier;
  let service: TokenService;
  let app: FastifyInstance;
  let issuer: string;
  const events: AuditEvent[] = [];
  const agents = new Map<string, Agent>();
  const publicKeys = new Map<string, JWK[]>();
  let botKey: webcrypto.CryptoKeyPair;
  const lookup: AgentLookup = { get: async (n) => agents.get(n), onChange: () => () => undefined };
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const form = 'application/x-www-form-urlencoded';

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    opened = await sqlite.openMigrated();
    barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(opened.store.db) });
    for (const name of ['bot', 'other']) {
      agents.set(name, { name, owner: 'o', roles: [], labels: {}, environment: null, region: null, clearance: 0, status: 'active', requireDpop: false, createdAt: 0, updatedAt: 0 });
    }
    botKey = await generateKeyPair('Ed25519');
    publicKeys.set('bot', [{ ...(await exportJWK(botKey.publicKey)), kid: 'bot-1' }]);
    service = await openTokenService({
      db: opened.store.db,
      barrier,
      audit: { append: async (e) => void events.push(e) },
      lookup,
      credentials: { verifySecret: async (id, s) => s === `${id}-secret`, publicKeys: async (id) => publicKeys.get(id) ?? [] },
      config: { issuer, tokenTtl: 300_000, resources: [] },
      refreshInterval: 0,
    });
    const protectedRoutes: FastifyPluginAsync = async (instance) => {
      instance.addHook('onRequest', requireAgent({ verifier: service.verifier, resource: `${issuer}/mcp`, baseUrl: issuer, audit: { append: async (e) => void events.push(e) } }));
      instance.get('/mcp', async (request) => ({ principal: request.principal }));
    };
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [oauthRoutes({ tokens: service }), protectedRoutes] });
    await app.listen({ host: '127.0.0.1', port });
  });
  afterAll(async () => {
    await app.close();
    service.close();
    barrier.close();
    await opened.cleanup();
  });

  const token = (body: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': form, ...headers }, payload: body });
  const expectOAuthError = (res: Awaited<ReturnType<typeof token>>, status: number, error: string) => {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
    expect(body.error).toBe(error);
  };

  it('issues a bearer token for client_secret_basic, with no-store', async () => {
    const res = await token('grant_type=client_credentials&scope=tools%3Aread', { authorization: basic('bot', 'bot-secret') });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'tools:read' });
  });

  it('answers errors in the RFC 6749 §5.2 format', async () => {
    expectOAuthError(await token('grant_type=password', { authorization: basic('bot', 'bot-secret') }), 400, 'unsupported_grant_type');
    const bad = await token('grant_type=client_credentials', { authorization: basic('bot', 'wrong') });
    expectOAuthError(bad, 401, 'invalid_client');
    expect(bad.headers['www-authenticate']).toBe('Basic realm="warden"');
    expectOAuthError(await token('grant_type=client_credentials&client_id=bot&client_secret=wrong'), 401, 'invalid_client');
    expectOAuthError(await token('grant_type=client_credentials&resource=https%3A%2F%2Fevil.test', { authorization: basic('bot', 'bot-secret') }), 400, 'invalid_target');
    expectOAuthError(await token('grant_type=client_credentials&grant_type=client_credentials', { authorization: basic('bot', 'bot-secret') }), 400, 'invalid_request');
    expectOAuthError(await app.inject({ method: 'POST', url: '/oauth2/token', payload: { grant_type: 'client_credentials' } }), 400, 'invalid_request');
    expectOAuthError(await app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'text/plain' }, payload: 'x' }), 400, 'invalid_request');
    expect(events.some((e) => e.action === 'token.issue' && e.outcome === 'failure' && e.details?.reason === 'bad_secret')).toBe(true);
  });

  it('introspects a client\'s own tokens and revokes them (200 for unknown tokens)', async () => {
    const access = (await token('grant_type=client_credentials', { authorization: basic('bot', 'bot-secret') })).json<{ access_token: string }>().access_token;
    const introspect = (auth: string, t: string) => app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { 'content-type': form, authorization: auth }, payload: `token=${t}` });
    expect((await introspect(basic('bot', 'bot-secret'), access)).json()).toMatchObject({ active: true, sub: 'bot', client_id: 'bot', aud: `${issuer}/mcp` });
    expect((await introspect(basic('other', 'other-secret'), access)).json()).toEqual({ active: false });
    expect((await introspect(basic('bot', 'bot-secret'), 'garbage')).json()).toEqual({ active: false });
    expectOAuthError(await introspect(basic('bot', 'wrong'), access), 401, 'invalid_client');
    const call = () => app.inject({ url: '/mcp', headers: { authorization: `Bearer ${access}` } });
    expect((await call()).statusCode).toBe(200);
    const revoke = (t: string) => app.inject({ method: 'POST', url: '/oauth2/revoke', headers: { 'content-type': form, authorization: basic('bot', 'bot-secret') }, payload: `token=${t}&token_type_hint=access_token` });
    expect((await revoke('unknown')).statusCode).toBe(200);
    expect((await revoke(access)).statusCode).toBe(200);
    const refused = await call();
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="warden", error="invalid_token"');
    expect(refused.json()).toMatchObject({ code: 'WARDEN_UNAUTHENTICATED', detail: 'authentication failed' });
    expect(refused.body).not.toContain('revoked');
    expect(events.at(-1)).toMatchObject({ action: 'agent.authenticate', outcome: 'failure', details: { reason: 'revoked' } });
  });

  it('refuses a protected request without a token with both challenges', async () => {
    const res = await app.inject({ url: '/mcp' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="warden", DPoP algs="EdDSA Ed25519 ES256"');
  });

  it('serves RFC 8414 metadata and the JWKS', async () => {
    const meta = (await app.inject('/.well-known/oauth-authorization-server')).json<Record<string, unknown>>();
    expect(meta).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/oauth2/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      dpop_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
    });
    const jwks = (await app.inject('/.well-known/jwks.json')).json<{ keys: JWK[] }>();
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('works with an independent client (oauth4webapi): discovery, private_key_jwt, DPoP, protected resource', async () => {
    const insecure = { [oauth.allowInsecureRequests]: true } as const;
    const issuerUrl = new URL(issuer);
    const as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure }));
    const client: oauth.Client = { client_id: 'bot' };
    const clientAuth = oauth.PrivateKeyJwt({ key: botKey.privateKey, kid: 'bot-1' });
    const params = new URLSearchParams({ scope: 'tools:read', resource: `${issuer}/mcp` });

    const plain = await oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, clientAuth, params, insecure));
    expect(plain.token_type).toBe('bearer');

    const dpopKeys = await oauth.generateKeyPair('EdDSA');
    const DPoP = oauth.DPoP(client, dpopKeys);
    const bound = await oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, clientAuth, params, { DPoP, ...insecure }));
    expect(bound.token_type).toBe('dpop');

    const res = await oauth.protectedResourceRequest(bound.access_token, 'GET', new URL(`${issuer}/mcp?page=1`), undefined, undefined, { DPoP, ...insecure });
    expect(res.status).toBe(200);
    const { principal } = (await res.json()) as { principal: { agent: string; dpopJkt: string; scopes: string[] } };
    expect(principal).toMatchObject({ agent: 'bot', scopes: ['tools:read'] });
    expect(principal.dpopJkt).toEqual(expect.any(String));

    // The same bound token without its proof, or as a bearer token, is refused.
    const bare = await fetch(`${issuer}/mcp`, { headers: { authorization: `DPoP ${bound.access_token}` } });
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toContain('invalid_dpop_proof');
    expect((await fetch(`${issuer}/mcp`, { headers: { authorization: `Bearer ${bound.access_token}` } })).status).toBe(401);

    // Introspection and revocation through the client library.
    const introspection = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, bound.access_token, insecure));
    expect(introspection).toMatchObject({ active: true, token_type: 'DPoP' });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, bound.access_token, insecure));
    const after = await oauth
      .protectedResourceRequest(bound.access_token, 'GET', new URL(`${issuer}/mcp`), undefined, undefined, { DPoP, ...insecure })
      .then(() => undefined, (e: unknown) => e);
    expect(after).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect((after as oauth.WWWAuthenticateChallengeError).status).toBe(401);
    expect((after as oauth.WWWAuthenticateChallengeError).cause[0]).toMatchObject({ scheme: 'dpop', parameters: { error: 'invalid_token' } });
  });
});
