import type { webcrypto } from 'node:crypto';
import { createHmac, randomBytes, randomUUID, sign as cryptoSign } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, calculateJwkThumbprint, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { openBarrier, type Barrier } from '../barrier/index.js';
import { isWardenError, type WardenError } from '../errors/index.js';
import { createBarrierKeyringRepository } from '../store/index.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { accessTokenHash } from './dpop.js';
import { DEFAULT_MAX_TOKEN_TTL } from './signing-keys.js';
import { openTokenService, type TokenService } from './token-service.js';
import type { Agent, AgentLookup } from './types.js';

const issuer = 'https://warden.test';
const mcp = `${issuer}/mcp`;

function fakeAgents() {
  const agents = new Map<string, Agent>();
  const listeners = new Set<(name: string) => void>();
  const put = (name: string, patch: Partial<Agent> = {}) => {
    agents.set(name, { name, owner: 'o', roles: [], labels: {}, environment: null, region: null, clearance: 0, status: 'active', requireDpop: false, createdAt: 0, updatedAt: 0, ...patch });
    for (const l of listeners) l(name);
  };
  const lookup: AgentLookup & { calls: number } = {
    calls: 0,
    async get(name) {
      lookup.calls++;
      return agents.get(name);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const remove = (name: string) => {
    agents.delete(name);
    for (const l of listeners) l(name);
  };
  return { lookup, put, remove };
}

async function refusal(promise: Promise<unknown>): Promise<WardenError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!isWardenError(err, 'WARDEN_UNAUTHENTICATED')) throw new Error(`expected WARDEN_UNAUTHENTICATED, got ${String(err)}`);
  expect(err.message).toBe('authentication failed');
  return err;
}
async function refused(promise: Promise<unknown>, reason: string): Promise<WardenError> {
  const err = await refusal(promise);
  expect(err.details?.reason).toBe(reason);
  return err;
}

describe.each(storeBackends)('token verifier on $name', (backend) => {
  let opened: OpenedTestStore;
  let barrier: Barrier;
  let service: TokenService;
  let clock = Date.now();
  const events: AuditEvent[] = [];
  const agents = fakeAgents();

  beforeAll(async () => {
    opened = await backend.openMigrated();
    barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(opened.store.db) });
  });
  beforeEach(async () => {
    clock = Date.now();
    agents.put('bot');
    service = await openTokenService({
      db: opened.store.db,
      barrier,
      audit: { append: async (e) => void events.push(e) },
      lookup: agents.lookup,
      credentials: { verifySecret: async () => false, publicKeys: async () => [] },
      config: { issuer, tokenTtl: 300_000, resources: [] },
      refreshInterval: 0,
      now: () => clock,
    });
  });
  afterEach(() => service.close());
  afterAll(async () => {
    barrier.close();
    await opened.cleanup();
  });

  const issue = async (patch: { dpopJkt?: string; audience?: string; agent?: string } = {}) =>
    (await service.tokenIssuer.issue({ agent: patch.agent ?? 'bot', clientId: patch.agent ?? 'bot', audience: patch.audience ?? mcp, scopes: ['tools:read'], ...(patch.dpopJkt ? { dpopJkt: patch.dpopJkt } : {}) })).accessToken;
  const verify = (token: string, extra: { scheme?: string; dpop?: string; url?: string; resource?: string; method?: string } = {}) =>
    service.verifier.verify({
      authorization: `${extra.scheme ?? 'Bearer'} ${token}`,
      dpop: extra.dpop,
      method: extra.method ?? 'POST',
      url: extra.url ?? `${mcp}?x=1`,
      resource: extra.resource ?? mcp,
    });
  const claims = (patch: Record<string, unknown> = {}) => {
    const iat = Math.floor(clock / 1000);
    return { iss: issuer, sub: 'bot', client_id: 'bot', aud: mcp, iat, nbf: iat, exp: iat + 300, jti: randomUUID(), scope: 'a', ...patch };
  };
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) => {
    const key = service.keys.current();
    return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid, ...header }).sign(key.privateKey);
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

  it('accepts a valid token and returns the principal', async () => {
    const token = await issue();
    const principal = await verify(token);
    expect(principal).toMatchObject({ kind: 'agent', agent: 'bot', clientId: 'bot', scopes: ['tools:read'], audience: mcp });
    expect(principal.dpopJkt).toBeUndefined();
    await expect(service.verifier.verify({ authorization: `bearer ${token}`, method: 'GET', url: mcp, resource: mcp })).resolves.toBeDefined();
  });

  it('refuses a forged signature', async () => {
    const token = await issue();
    const [h, p] = token.split('.');
    const other = await generateKeyPair('Ed25519');
    const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: service.keys.current().kid }).sign(other.privateKey);
    await refused(verify(forged), 'bad_signature');
    const tampered = `${h}.${b64({ ...claims(), sub: 'admin' })}.${token.split('.')[2]}`;
    await refused(verify(tampered), 'bad_signature');
    void p;
  });

  it('refuses alg none and HS256 signed with the public key', async () => {
    const kid = service.keys.current().kid;
    const none = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims())}.`;
    await refused(verify(none), 'malformed');
    await refused(verify(`${none}AAAA`), 'bad_alg');
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(claims())}`;
    for (const secret of [JSON.stringify(service.jwks().keys[0]), String((service.jwks().keys[0] as JWK).x), service.keys.current().publicKey.export({ format: 'pem', type: 'spki' })]) {
      const sig = createHmac('sha256', secret).update(input).digest('base64url');
      await refused(verify(`${input}.${sig}`), 'bad_alg');
    }
  });

  it('refuses a wrong typ, issuer, audience, unknown kid and crit header', async () => {
    await refused(verify(await sign(claims(), { typ: 'JWT' })), 'wrong_typ');
    await refused(verify(await sign(claims(), { typ: undefined })), 'wrong_typ');
    await refused(verify(await sign(claims({ iss: 'https://evil.test' }))), 'wrong_issuer');
    await refused(verify(await sign(claims({ aud: `${issuer}/v1/keys` }))), 'wrong_audience');
    await refused(verify(await issue(), { resource: `${issuer}/v1/keys` }), 'wrong_audience');
    await refused(verify(await sign(claims(), { kid: 'nope' })), 'unknown_key');
    const critInput = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: service.keys.current().kid, crit: ['x'], x: 1 })}.${b64(claims())}`;
    const critSig = cryptoSign(null, Buffer.from(critInput), service.keys.current().privateKey).toString('base64url');
    await refused(verify(`${critInput}.${critSig}`), 'malformed');
  });

  it('refuses expired and not-yet-valid tokens, with 30 s leeway', async () => {
    const t = Math.floor(clock / 1000);
    await refused(verify(await sign(claims({ exp: t - 31 }))), 'expired');
    await expect(verify(await sign(claims({ exp: t - 20 })))).resolves.toBeDefined();
    await refused(verify(await sign(claims({ nbf: t + 60 }))), 'not_yet_valid');
    await refused(verify(await sign(claims({ iat: t + 60, nbf: t }))), 'not_yet_valid');
    // A cached token expires too.
    const token = await issue();
    await verify(token);
    clock += 300_000 + 31_000;
    await refused(verify(token), 'expired');
  });

  it('refuses oversized, malformed and non-Bearer/DPoP credentials', async () => {
    await refused(verify('a'.repeat(9000)), 'token_too_large');
    for (const bad of ['abc', 'a.b', 'a.b.c.d', 'a..c', 'a b.c.d', '!!.??.**', `${b64('x')}.${b64(claims())}.AAAA`]) {
      const err = await refusal(verify(bad));
      expect(['malformed', 'bad_alg']).toContain(err.details?.reason);
    }
    await refused(service.verifier.verify({ authorization: undefined, method: 'GET', url: mcp, resource: mcp }), 'missing_token');
    const basic = await refused(service.verifier.verify({ authorization: 'Basic Ym90OnM=', method: 'GET', url: mcp, resource: mcp }), 'unsupported_scheme');
    expect(basic.details?.wwwAuthenticate).toMatch(/^Bearer realm="warden", DPoP algs="EdDSA Ed25519 ES256"$/);
  });

  it('revocation takes effect on the next request even when the token is cached', async () => {
    const token = await issue();
    await verify(token);
    await verify(token);
    await service.revoke(token, 'bot');
    const err = await refused(verify(token), 'revoked');
    expect(err.details?.wwwAuthenticate).toBe('Bearer realm="warden", error="invalid_token"');
    expect(events.some((e) => e.action === 'token.revoke')).toBe(true);
    expect(await service.introspect(token, 'bot')).toEqual({ active: false });
  });

  it('sees revocations made by another node after a refresh', async () => {
    const token = await issue();
    await verify(token);
    const other = await openTokenService({
      db: opened.store.db, barrier, audit: { append: async () => undefined }, lookup: agents.lookup,
      credentials: { verifySecret: async () => false, publicKeys: async () => [] },
      config: { issuer, tokenTtl: 300_000, resources: [] }, refreshInterval: 20, now: () => clock,
    });
    try {
      await expect(other.verifier.verify({ authorization: `Bearer ${token}`, method: 'GET', url: mcp, resource: mcp })).resolves.toBeDefined();
      await service.revoke(token, 'bot');
      await new Promise((r) => setTimeout(r, 100));
      await refused(other.verifier.verify({ authorization: `Bearer ${token}`, method: 'GET', url: mcp, resource: mcp }), 'revoked');
    } finally {
      other.close();
    }
  });

  it('refuses disabled, quarantined and deleted agents even with a cached token', async () => {
    const token = await issue();
    await verify(token);
    agents.put('bot', { status: 'disabled' });
    await refused(verify(token), 'agent_disabled');
    agents.put('bot', { status: 'quarantined' });
    await refused(verify(token), 'agent_quarantined');
    agents.remove('bot');
    await refused(verify(token), 'agent_unknown');
    agents.put('bot');
    await expect(verify(token)).resolves.toBeDefined();
  });

  it('costs no agent lookup for a repeated token of an unchanged agent', async () => {
    const token = await issue();
    await verify(token);
    const calls = agents.lookup.calls;
    for (let i = 0; i < 10; i++) await verify(token);
    expect(agents.lookup.calls).toBe(calls);
  });

  describe('DPoP', () => {
    const proofFor = async (key: webcrypto.CryptoKeyPair, patch: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
      const jwk = await exportJWK(key.publicKey);
      return new SignJWT({ htm: 'POST', htu: mcp, jti: randomUUID(), iat: Math.floor(clock / 1000), ...patch })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'dpop+jwt', jwk, ...header })
        .sign(key.privateKey);
    };
    const bound = async () => {
      const key = await generateKeyPair('Ed25519', { extractable: true });
      const jkt = await calculateJwkThumbprint(await exportJWK(key.publicKey));
      return { key, jkt, token: await issue({ dpopJkt: jkt }) };
    };

    it('accepts a bound token with a valid proof (query and fragment ignored)', async () => {
      const { key, jkt, token } = await bound();
      const principal = await verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath: accessTokenHash(token) }) });
      expect(principal.dpopJkt).toBe(jkt);
      await verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath: accessTokenHash(token), htu: `${mcp}#f` }) });
    });

    it('refuses a bound token without a proof, or under the Bearer scheme', async () => {
      const { key, token } = await bound();
      const err = await refused(verify(token, { scheme: 'DPoP' }), 'dpop_proof_missing');
      expect(err.details?.wwwAuthenticate).toBe('DPoP algs="EdDSA Ed25519 ES256", error="invalid_dpop_proof"');
      await refused(verify(token), 'dpop_required');
      await refused(verify(token, { dpop: await proofFor(key, { ath: accessTokenHash(token) }) }), 'dpop_required');
    });

    it('refuses proofs for another URL or method, stale, replayed, of another key or without ath', async () => {
      const { key, token } = await bound();
      const ath = accessTokenHash(token);
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath, htu: `${issuer}/v1/keys` }) }), 'dpop_wrong_url');
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath, htm: 'GET' }) }), 'dpop_wrong_method');
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath, iat: Math.floor(clock / 1000) - 120 }) }), 'dpop_stale');
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(key) }), 'dpop_wrong_ath');
      const other = await generateKeyPair('Ed25519', { extractable: true });
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(other, { ath }) }), 'dpop_key_mismatch');
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath }, { typ: 'JWT' }) }), 'dpop_bad_signature');
      const withPrivate = { ...(await exportJWK(key.privateKey)) };
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath }, { jwk: withPrivate }) }), 'dpop_bad_key');
      const proof = await proofFor(key, { ath });
      await verify(token, { scheme: 'DPoP', dpop: proof });
      await refused(verify(token, { scheme: 'DPoP', dpop: proof }), 'dpop_replay');
    });

    it('refuses a proof with a Bearer token, an unbound token under DPoP, and Bearer for requireDpop agents', async () => {
      const token = await issue();
      const key = await generateKeyPair('Ed25519', { extractable: true });
      await refused(verify(token, { dpop: await proofFor(key, { ath: accessTokenHash(token) }) }), 'dpop_with_bearer');
      await refused(verify(token, { scheme: 'DPoP', dpop: await proofFor(key, { ath: accessTokenHash(token) }) }), 'dpop_not_bound');
      agents.put('bot', { requireDpop: true });
      await refused(verify(token), 'dpop_required');
      agents.put('bot');
    });
  });

  it('keeps tokens of a rotated key valid until they expire, then drops the key from the JWKS', async () => {
    const oldKid = service.keys.current().kid;
    const old = await issue();
    const newKid = await service.rotate();
    expect(newKid).not.toBe(oldKid);
    const fresh = await issue();
    expect((JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid).toBe(newKid);
    await expect(verify(old)).resolves.toBeDefined();
    await expect(verify(fresh)).resolves.toBeDefined();
    expect(service.jwks().keys.map((k) => (k as JWK).kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(events.some((e) => e.action === 'token.rotate_signing_key')).toBe(true);
    clock += DEFAULT_MAX_TOKEN_TTL + 1;
    expect(service.jwks().keys.map((k) => (k as JWK).kid)).not.toContain(oldKid);
    await refused(verify(await sign(claims(), { kid: oldKid })), 'unknown_key');
  });

  it('picks up a key rotated by another node', async () => {
    const other = await openTokenService({
      db: opened.store.db, barrier, audit: { append: async () => undefined }, lookup: agents.lookup,
      credentials: { verifySecret: async () => false, publicKeys: async () => [] },
      config: { issuer, tokenTtl: 300_000, resources: [] }, refreshInterval: 0, now: () => clock,
    });
    try {
      await other.rotate();
      const token = (await other.tokenIssuer.issue({ agent: 'bot', clientId: 'bot', audience: mcp, scopes: [] })).accessToken;
      await expect(verify(token)).resolves.toBeDefined();
    } finally {
      other.close();
    }
  });
});
