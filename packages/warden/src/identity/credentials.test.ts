import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAgentDirectory, type AgentDirectory, type ChangeContext } from './agents.js';
import { SECRET_HASH_KEY_NAME, checkPublicJwk, createCredentialStore, type CredentialStore, type NewCredential } from './credentials.js';

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

function publicJwk(type: 'ed25519' | 'ec'): JWK {
  const { publicKey } = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return publicKey.export({ format: 'jwk' });
}

function privateJwk(): JWK {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
}

describe('public JWK validation', () => {
  it('accepts Ed25519 and P-256 public keys and derives the RFC 7638 kid', async () => {
    const ed = publicJwk('ed25519');
    expect(await checkPublicJwk(ed)).toEqual({ kty: 'OKP', crv: 'Ed25519', x: ed.x, kid: await calculateJwkThumbprint(ed), alg: 'EdDSA' });
    const ec = publicJwk('ec');
    expect(await checkPublicJwk({ ...ec, kid: 'my-key', use: 'sig' })).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'my-key', alg: 'ES256' });
  });

  it('refuses private, foreign, malformed and off-curve keys', async () => {
    const ed = publicJwk('ed25519');
    const ec = publicJwk('ec');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const offCurve = { ...ec, y: Buffer.alloc(32, 7).toString('base64url') };
    const bad: unknown[] = [
      privateJwk(),
      { ...ed, d: 'AAAA' },
      rsa,
      p384,
      offCurve,
      { ...ed, crv: 'X25519' },
      { ...ed, x: 'short' },
      { ...ed, alg: 'ES256' },
      { ...ed, use: 'enc' },
      { ...ed, kid: '' },
      { ...ec, kty: 'OKP' },
      { kty: 'oct', k: 'AAAA' },
      'not an object',
      null,
    ];
    for (const jwk of bad) expect(await refusal(checkPublicJwk(jwk)), JSON.stringify(jwk)).toBe('WARDEN_VALIDATION_FAILED');
  });
});

describe.each(storeBackends)('credential store on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let directory: AgentDirectory;
  let credentials: CredentialStore;
  let clock = Date.now();
  const changes: string[] = [];

  beforeAll(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
    directory = createAgentDirectory({ db: opened.store.db, audit: audit.log });
    credentials = createCredentialStore({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, directory, now: () => clock });
    directory.onChange((name) => changes.push(name));
    await directory.create({ name: 'bot-a', owner: 'team' }, ctx);
    await directory.create({ name: 'bot-b', owner: 'team' }, ctx);
  });
  afterAll(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  it('issues a client secret once, verifies it and records last use', async () => {
    changes.length = 0;
    const created = await credentials.add('bot-a', { kind: 'client_secret', label: 'primary' }, ctx);
    expect(created.secret).toMatch(/^wsec_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ agent: 'bot-a', kind: 'client_secret', label: 'primary', lastUsedAt: null, revokedAt: null, publicJwk: null });
    expect(created.id).toMatch(/^cred_[0-9a-f]{32}$/);
    expect(changes).toEqual(['bot-a']);
    expect(await credentials.verifySecret('bot-a', created.secret!)).toBe(true);
    const [listed] = await credentials.list('bot-a');
    expect(listed).not.toHaveProperty('secret');
    expect(listed!.lastUsedAt).toBe(clock);
    const entries = await audit.log.entries(0, 1000);
    expect(entries.some((e) => e.body!.includes('"credential.create"') && e.body!.includes(created.id))).toBe(true);
    expect(entries.some((e) => e.body!.includes(created.secret!))).toBe(false);
  });

  it('never stores the secret in plaintext', async () => {
    const { secret } = await credentials.add('bot-a', { kind: 'client_secret' }, ctx);
    const raw = Buffer.from(secret!.slice(5), 'base64url');
    const key = await opened.store.db.selectFrom('system_keys').select('value').where('name', '=', SECRET_HASH_KEY_NAME).executeTakeFirst();
    expect(key).toBeDefined();
    for (const table of ['agent_credentials', 'agents', 'system_keys', 'audit_entries', 'secrets']) {
      const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(opened.store.db)).rows;
      for (const row of rows) {
        for (const value of Object.values(row)) {
          const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
          expect(bytes.includes(Buffer.from(secret!, 'utf8')), table).toBe(false);
          expect(bytes.includes(Buffer.from(secret!.slice(5), 'utf8')), table).toBe(false);
          expect(bytes.includes(raw), table).toBe(false);
        }
      }
    }
  });

  it('refuses wrong, foreign, revoked and expired secrets and secrets of a disabled agent', async () => {
    const a = await credentials.add('bot-a', { kind: 'client_secret' }, ctx);
    const b = await credentials.add('bot-b', { kind: 'client_secret' }, ctx);
    expect(await credentials.verifySecret('bot-a', `${a.secret!.slice(0, -2)}AA`)).toBe(false);
    expect(await credentials.verifySecret('bot-a', b.secret!)).toBe(false);
    expect(await credentials.verifySecret('nobody', a.secret!)).toBe(false);
    expect(await credentials.verifySecret('bot-a', '')).toBe(false);
    expect(await credentials.verifySecret('bot-a', a.secret!.slice(5))).toBe(false);

    await directory.disable('bot-b', ctx);
    expect(await credentials.verifySecret('bot-b', b.secret!)).toBe(false);
    await directory.enable('bot-b', ctx);
    expect(await credentials.verifySecret('bot-b', b.secret!)).toBe(true);

    changes.length = 0;
    const revoked = await credentials.revoke('bot-b', b.id, ctx);
    expect(revoked.revokedAt).toBe(clock);
    expect(changes).toEqual(['bot-b']);
    expect(await credentials.verifySecret('bot-b', b.secret!)).toBe(false);
    expect(await refusal(credentials.revoke('bot-a', b.id, ctx))).toBe('WARDEN_NOT_FOUND');
    expect(await refusal(credentials.revoke('bot-a', 'cred_nope', ctx))).toBe('WARDEN_NOT_FOUND');

    const expiring = await credentials.add('bot-a', { kind: 'client_secret', expiresAt: clock + 60_000 }, ctx);
    expect(await credentials.verifySecret('bot-a', expiring.secret!)).toBe(true);
    clock += 60_001;
    expect(await credentials.verifySecret('bot-a', expiring.secret!)).toBe(false);
    expect(await credentials.verifySecret('bot-a', a.secret!)).toBe(true);
  });

  it('keeps several current credentials for rotation and serves public keys', async () => {
    const ed = publicJwk('ed25519');
    const ec = publicJwk('ec');
    const k1 = await credentials.add('bot-b', { kind: 'public_key', jwk: ed, label: 'old' }, ctx);
    clock += 1;
    const k2 = await credentials.add('bot-b', { kind: 'public_key', jwk: { ...ec, kid: 'new-key' } }, ctx);
    expect(k1.kid).toBe(await calculateJwkThumbprint(ed));
    expect(k1).not.toHaveProperty('secret');
    expect((await credentials.publicKeys('bot-b')).map((k) => k.kid)).toEqual([k1.kid, 'new-key']);
    expect(await refusal(credentials.add('bot-b', { kind: 'public_key', jwk: ed }, ctx))).toBe('WARDEN_CONFLICT');
    await credentials.revoke('bot-b', k1.id, ctx);
    expect((await credentials.publicKeys('bot-b')).map((k) => k.kid)).toEqual(['new-key']);
    await directory.quarantine('bot-b', ctx);
    expect(await credentials.publicKeys('bot-b')).toEqual([]);
    expect(await credentials.publicKeys('nobody')).toEqual([]);
    await directory.enable('bot-b', ctx);
    expect(k2.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: ec.x, y: ec.y, kid: 'new-key', alg: 'ES256' });
  });

  it('refuses bad credential input', async () => {
    const bad: NewCredential[] = [
      { kind: 'public_key', jwk: privateJwk() },
      { kind: 'public_key' },
      { kind: 'client_secret', jwk: publicJwk('ed25519') },
      { kind: 'password' as 'client_secret' },
      { kind: 'client_secret', expiresAt: clock - 1 },
      { kind: 'client_secret', label: 'tab\there' },
    ];
    const count = (await credentials.list('bot-a')).length;
    for (const input of bad) expect(await refusal(credentials.add('bot-a', input, ctx)), JSON.stringify(input)).toBe('WARDEN_VALIDATION_FAILED');
    expect(await credentials.list('bot-a')).toHaveLength(count);
    expect(await refusal(credentials.add('nobody', { kind: 'client_secret' }, ctx))).toBe('WARDEN_NOT_FOUND');
    expect(await refusal(credentials.list('nobody'))).toBe('WARDEN_NOT_FOUND');
  });

  it('deletes credentials with their agent', async () => {
    await directory.create({ name: 'short-lived', owner: 'team' }, ctx);
    const { secret } = await credentials.add('short-lived', { kind: 'client_secret' }, ctx);
    await directory.delete('short-lived', ctx);
    expect(await credentials.verifySecret('short-lived', secret!)).toBe(false);
    const left = await opened.store.db.selectFrom('agent_credentials').select('id').where('agent', '=', 'short-lived').execute();
    expect(left).toEqual([]);
  });

  it('refuses credential changes and changes nothing when the audit log is closed', async () => {
    const before = await credentials.list('bot-a');
    const current = before.find((c) => c.revokedAt === null)!;
    await audit.log.close();
    expect(await refusal(credentials.add('bot-a', { kind: 'client_secret' }, ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await refusal(credentials.add('bot-a', { kind: 'public_key', jwk: publicJwk('ed25519') }, ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await refusal(credentials.revoke('bot-a', current.id, ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await credentials.list('bot-a')).toEqual(before);
  });
});
