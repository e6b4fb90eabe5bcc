/**
 * Benchmark: the token service on SQLite. Issuance with a client secret through `service.token()` (in-
 * memory audit, and with the durable audit log under 64 concurrent clients), the HTTP token endpoint via
 * `app.inject`, and verification of a Bearer token cached (a repeated token) and uncached (20,000
 * distinct tokens cycled through the 10,000-entry cache, so every call verifies the signature), each
 * beside raw `crypto.verify` Ed25519 over a token-sized message in the same run. Agent lookup and client
 * credentials are in-memory fakes. Targets: issuance ≥ 3,000/s, cached ≥ 100,000/s, uncached ≥ 8,000/s.
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { oauthRoutes } from '../src/api/oauth.js';
import { buildApp } from '../src/api/app.js';
import { openBarrier } from '../src/barrier/index.js';
import { openTokenService, type TokenService } from '../src/identity/token-service.js';
import type { Agent, AgentLookup, ClientCredentials } from '../src/identity/types.js';
import { createLogger } from '../src/log/index.js';
import { createBarrierKeyringRepository, openStore } from '../src/store/index.js';
import { openTestAuditLog } from '../src/testing/audit-log.js';

const options = { time: 1500, warmupTime: 300 };
const issuer = 'https://warden.bench';
const resource = `${issuer}/mcp`;
const dir = await mkdtemp(join(tmpdir(), 'warden-bench-tokens-'));
const store = await openStore({ kind: 'sqlite', path: join(dir, 'warden.db') });
await store.migrate();
const barrier = await openBarrier({ rootKey: randomBytes(32), keyring: createBarrierKeyringRepository(store.db) });
const agent: Agent = { name: 'bot', owner: 'o', roles: [], labels: {}, environment: null, region: null, clearance: 0, status: 'active', requireDpop: false, createdAt: 0, updatedAt: 0 };
const lookup: AgentLookup = { get: (n) => Promise.resolve(n === 'bot' ? agent : undefined), onChange: () => () => undefined };
const credentials: ClientCredentials = { verifySecret: (id, s) => Promise.resolve(id === 'bot' && s === 'bot-secret'), publicKeys: () => Promise.resolve([]) };
const config = { issuer, tokenTtl: 3_600_000, resources: [] };
const open = (audit: Parameters<typeof openTokenService>[0]['audit']) =>
  openTokenService({ db: store.db, barrier, audit, lookup, credentials, config, refreshInterval: 0 });

const memory = await open({ append: () => Promise.resolve() });
const durableAudit = await openTestAuditLog(store, { barrier });
const durable = await open(durableAudit.log);
const app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [oauthRoutes({ tokens: memory })] });
afterAll(async () => {
  await app.close();
  memory.close();
  durable.close();
  await durableAudit.log.close();
  barrier.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const client = { basic: { clientId: 'bot', secret: 'bot-secret' } } as const;
const grant = (service: TokenService) => service.token({ grantType: 'client_credentials', resources: [], client });
const basic = `Basic ${Buffer.from('bot:bot-secret').toString('base64')}`;

const cachedToken = (await grant(memory)).accessToken;
const distinct: string[] = [];
for (let i = 0; i < 20_000; i++) distinct.push((await grant(memory)).accessToken);
let cursor = 0;

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const message = Buffer.from(cachedToken.slice(0, cachedToken.lastIndexOf('.')), 'ascii');
const signature = sign(null, message, privateKey);
const rawVerify = () => {
  if (!verify(null, message, publicKey, signature)) throw new Error('raw verify failed');
};
const request = (authorization: string) => ({ authorization, method: 'POST', url: resource, resource });

describe('issue a token (client_secret_basic)', () => {
  bench('baseline: node:crypto Ed25519 verify', rawVerify, options);
  bench('warden: service.token (in-memory audit)', async () => {
    await grant(memory);
  }, options);
  bench('warden: service.token, durable SQLite audit, 64 concurrent (x64 per iteration)', async () => {
    await Promise.all(Array.from({ length: 64 }, () => grant(durable)));
  }, options);
  bench('warden: POST /oauth2/token via app.inject', async () => {
    const res = await app.inject({ method: 'POST', url: '/oauth2/token', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' });
    if (res.statusCode !== 200) throw new Error(res.body);
  }, options);
});

describe('verify a Bearer token', () => {
  bench('baseline: node:crypto Ed25519 verify', rawVerify, options);
  bench('warden: verifier.verify, cached (repeated token)', async () => {
    await memory.verifier.verify(request(`Bearer ${cachedToken}`));
  }, options);
  bench('warden: verifier.verify, uncached (distinct tokens)', async () => {
    await memory.verifier.verify(request(`Bearer ${distinct[cursor++ % distinct.length]!}`));
  }, options);
});
