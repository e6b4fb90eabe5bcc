/**
 * `POST /v1/tokens/detokenize` over a real tokenizer, keyring, authorizer and audit log (SQLite): an
 * agent or admin permitted `tokens:detokenize` on the tokenization key gets values (per-item errors for
 * unknown tokens); one without gets 403 and nothing; both decisions and the detokenization are in the
 * audit log, and no value is; bad bodies are 400.
 */
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryBody } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import type { AdminPrincipal, Agent, AgentLookup } from '../identity/types.js';
import { createKeyring, keyEntityProvider, type Keyring } from '../kms/index.js';
import { createLogger } from '../log/index.js';
import { agentEntityProvider, createAuthorizer, createPolicyEngine } from '../policy/index.js';
import { createTokenizer, type Tokenizer } from '../screen/tokenizer.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { buildApp } from './app.js';
import { tokenRoutes } from './tokens.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

/** Stand-in at the edge: the agent comes from `x-test-agent` (the real stage is `requireAgent` for `<issuer>/v1/keys`). */
const fakeAgentAuth: onRequestAsyncHookHandler = async (request) => {
  const agent = request.headers['x-test-agent'];
  if (typeof agent !== 'string') throw new WardenError('WARDEN_UNAUTHENTICATED', 'token required');
  request.principal = { kind: 'agent', agent, clientId: agent, tokenId: 't', scopes: [], audience: 'x', expiresAt: Date.now() + 60_000 };
  return Promise.resolve();
};
const admins: Record<string, AdminPrincipal> = {
  wdn_security: { kind: 'admin', admin: 'sam', role: 'security', sessionId: 's1', expiresAt: Date.now() + 600_000 },
  wdn_auditor: { kind: 'admin', admin: 'ada', role: 'auditor', sessionId: 's2', expiresAt: Date.now() + 600_000 },
};
const sessions = {
  authenticate: (token: string) => (admins[token] ? Promise.resolve(admins[token]) : Promise.reject(new WardenError('WARDEN_UNAUTHENTICATED', 'no session'))),
};

const agent = (name: string): Agent => ({ name, owner: 'o', roles: [], labels: {}, environment: null, region: null, clearance: 0, status: 'active', requireDpop: false, createdAt: 1, updatedAt: 1 });
const lookup: AgentLookup = { get: (n) => Promise.resolve(n.startsWith('bot') ? agent(n) : undefined), onChange: () => () => undefined };

const policies = `
@id("support-detokenizes")
permit(principal == Warden::Agent::"bot-support", action == Warden::Action::"tokens:detokenize", resource == Warden::Key::"screen-tokens");

@id("other-uses-the-key")
permit(principal == Warden::Agent::"bot-other", action in [Warden::Action::"kms:hmac", Warden::Action::"kms:hmac_verify"], resource == Warden::Key::"screen-tokens");

@id("security-admins-detokenize")
permit(principal in Warden::AdminRole::"security", action == Warden::Action::"tokens:detokenize", resource is Warden::Key);
`;

describe('token routes', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let keyring: Keyring;
  let tokenizer: Tokenizer;
  let app: FastifyInstance;
  const bot = (name: string) => ({ 'x-test-agent': name });
  const detokenize = (headers: Record<string, string>, payload: unknown) => app.inject({ method: 'POST', url: '/v1/tokens/detokenize', headers, payload: payload as Record<string, unknown> });
  const bodies = async (from = 0) => {
    const entries = await audit.log.entries(from, await audit.log.size());
    return entries.map((e) => e.body ?? '');
  };

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    keyring = createKeyring({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, cacheTtlMs: 0 });
    await keyring.create({ name: 'screen-tokens', type: 'hmac-sha256' }, { actor: { type: 'admin', id: 'root' } });
    tokenizer = createTokenizer({ db: opened.store.db, barrier: audit.barrier, keyring, keyName: 'screen-tokens', audit: audit.log });
    const engine = createPolicyEngine();
    const set = engine.compile(1, [{ name: 'tokens.cedar', text: policies }]);
    const authorizer = createAuthorizer({ engine, active: () => set, providers: [agentEntityProvider(lookup), keyEntityProvider(keyring)], audit: audit.log, cacheSize: 0 });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 1_048_576,
      routes: [tokenRoutes({ tokenizer, authorize: (r, o) => authorizer.authorize(r, o), authenticateAgent: fakeAgentAuth, sessions })],
    });
  });
  afterAll(async () => {
    await app.close();
    await keyring.close();
    await audit.log.close();
    await opened.cleanup();
  });

  it('gives a permitted agent the values, per-item errors for the rest, and records it without values', async () => {
    const email = 'ivan.petrov@example.com';
    const secret = 'ghp_R4nd0mT0k3nV4lu3ThatIsSecret1234';
    const e = await tokenizer.tokenize('email', email);
    const s = await tokenizer.tokenize('secret', secret);
    const from = await audit.log.size();
    const res = await detokenize(bot('bot-support'), { tokens: [e, 'tok_email_v1_AAAAAAAAAAAAAAAAAAAAAA', s, 'garbage'] });
    expect(res.statusCode).toBe(200);
    const notFound = { error: { code: 'WARDEN_NOT_FOUND', status: 404, title: 'Resource not found', detail: 'token not found' } };
    expect(res.json()).toEqual({ results: [{ value: email, type: 'email' }, notFound, { value: secret, type: 'secret' }, notFound] });

    const recorded = await bodies(from);
    expect(recorded).toHaveLength(2);
    const [decision, detokenized] = recorded.map((b) => JSON.parse(b) as AuditEntryBody);
    expect(decision).toMatchObject({ action: 'tokens:detokenize', actor: { type: 'agent', id: 'bot-support' }, resource: { type: 'Warden::Key', id: 'screen-tokens' }, decision: { effect: 'allow', policy_ids: ['support-detokenizes'] } });
    expect(detokenized).toMatchObject({ action: 'tokens.detokenize', actor: { type: 'agent', id: 'bot-support' }, resource: { type: 'key', id: 'screen-tokens' }, details: { count: 4, revealed: 2, notFound: 2, types: { email: 1, secret: 1 }, decisionId: decision!.decision!.id } });
    // The receipt names the detokenization entry, written after the decision.
    expect(Number(res.headers['warden-audit-index'])).toBe(detokenized!.index);
    for (const body of recorded) {
      expect(body).not.toContain(email);
      expect(body).not.toContain(secret);
    }
  });

  it('refuses an agent without a permitting policy (also one allowed other actions on the key): 403, nothing revealed, the deny recorded', async () => {
    const email = 'judy.secret@example.com';
    const token = await tokenizer.tokenize('email', email);
    for (const name of ['bot-other', 'bot-nobody', 'stranger']) {
      const from = await audit.log.size();
      const res = await detokenize(bot(name), { tokens: [token] });
      expect(res.statusCode, name).toBe(403);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ code: 'WARDEN_FORBIDDEN', status: 403 });
      expect(res.body).not.toContain(email);
      const recorded = await bodies(from);
      expect(recorded).toHaveLength(1);
      expect(JSON.parse(recorded[0]!)).toMatchObject({ action: 'tokens:detokenize', decision: { effect: 'deny' } });
      expect(recorded[0]).not.toContain(email);
      expect(Number(res.headers['warden-audit-index'])).toBe(from);
    }
  });

  it('serves admins through their wdn_ token, decided by policy like agents', async () => {
    const token = await tokenizer.tokenize('phone', '+1 415 555 0100');
    const ok = await detokenize({ authorization: 'Bearer wdn_security' }, { tokens: [token] });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ results: [{ value: '+1 415 555 0100', type: 'phone' }] });
    const auditor = await detokenize({ authorization: 'Bearer wdn_auditor' }, { tokens: [token] });
    expect(auditor.statusCode).toBe(403);
    expect(auditor.body).not.toContain('555');
    // An admin token that does not authenticate is 401, never an agent fallback.
    expect((await detokenize({ authorization: 'Bearer wdn_nope', ...bot('bot-support') }, { tokens: [token] })).statusCode).toBe(401);
    expect((await detokenize({}, { tokens: [token] })).statusCode).toBe(401);
  });

  it('refuses malformed bodies with 400 before deciding anything', async () => {
    const from = await audit.log.size();
    const bad: unknown[] = [{}, { tokens: [] }, { tokens: 'tok' }, { tokens: [1] }, { tokens: ['x'.repeat(129)] }, { tokens: Array.from({ length: 1001 }, () => 'tok') }, { tokens: ['a'], extra: 1 }];
    for (const payload of bad) {
      const res = await detokenize(bot('bot-support'), payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 60)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'WARDEN_VALIDATION_FAILED' });
    }
    expect(await audit.log.size()).toBe(from);
  });

  it('answers a disabled key with its refusal and reveals nothing', async () => {
    const token = await tokenizer.tokenize('email', 'kim@example.com');
    await keyring.disable('screen-tokens', { actor: { type: 'admin', id: 'root' } });
    try {
      const res = await detokenize(bot('bot-support'), { tokens: [token] });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'WARDEN_KMS_KEY_DISABLED' });
      expect(res.body).not.toContain('kim@');
    } finally {
      await keyring.enable('screen-tokens', { actor: { type: 'admin', id: 'root' } });
    }
  });
});
