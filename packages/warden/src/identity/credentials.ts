/**
 * Agent credentials in `agent_credentials`: several per agent, so a credential can be rotated without
 * downtime. A client secret is generated here (`wsec_` + 256 random bits, base64url), returned once and
 * stored only as HMAC-SHA256 under a key kept in `system_keys` through the barrier (high-entropy secrets
 * need no slow hash; comparison is constant-time). A public key is a strictly validated Ed25519 or P-256
 * public JWK whose `kid` defaults to its RFC 7638 thumbprint. Adding and revoking are high-risk changes:
 * audited and durable before they happen, refused when the log cannot be written; both fire the
 * directory's change listeners. The store implements `ClientCredentials` for the token endpoint.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import type { Kysely, Selectable } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Barrier } from '../barrier/index.js';
import { WardenError } from '../errors/index.js';
import type { Database } from '../store/database.js';
import type { AgentCredentialsTable } from '../store/tables-agents.js';
import { auditFirst, type AgentDirectory, type ChangeContext } from './agents.js';
import type { ClientCredentials } from './types.js';

export const SECRET_HASH_KEY_NAME = 'identity.secret-hash-key';
export const SECRET_PREFIX = 'wsec_';
/** Most current (unrevoked, unexpired) credentials one agent may hold. */
export const MAX_CURRENT_CREDENTIALS = 10;

export type CredentialKind = 'client_secret' | 'public_key';

/** A credential as shown to admins: never the secret or its hash. */
export interface Credential {
  readonly id: string;
  readonly agent: string;
  readonly kind: CredentialKind;
  readonly kid: string;
  readonly label: string | null;
  /** The public JWK of a `public_key` credential. */
  readonly publicJwk: JWK | null;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
  readonly createdAt: number;
}

export interface NewCredential {
  readonly kind: CredentialKind;
  /** Required for `public_key`; refused for `client_secret`. */
  readonly jwk?: unknown;
  readonly label?: string;
  /** Milliseconds since the epoch; must be in the future. */
  readonly expiresAt?: number;
}

/** The created credential; `secret` (client secrets only) is shown this once and never again. */
export interface CreatedCredential extends Credential {
  readonly secret?: string;
}

export interface CredentialStore extends ClientCredentials {
  add(agent: string, input: NewCredential, ctx: ChangeContext): Promise<CreatedCredential>;
  /** Every credential of the agent (revoked and expired ones too), oldest first. */
  list(agent: string): Promise<Credential[]>;
  /** Revokes a credential of the agent; WARDEN_NOT_FOUND when it has no such credential. */
  revoke(agent: string, id: string, ctx: ChangeContext): Promise<Credential>;
}

export interface CredentialStoreOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  readonly audit: Pick<AuditLog, 'append'>;
  readonly directory: Pick<AgentDirectory, 'get' | 'require' | 'notifyChange'>;
  readonly now?: () => number;
}

const b64url = /^[A-Za-z0-9_-]+$/;
const curves = { Ed25519: { kty: 'OKP', alg: 'EdDSA', members: ['x'] }, 'P-256': { kty: 'EC', alg: 'ES256', members: ['x', 'y'] } } as const;
const allowedMembers = new Set(['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use', 'key_ops']);

function invalid(message: string, field: string): WardenError {
  return new WardenError('WARDEN_VALIDATION_FAILED', message, { details: { field } });
}

/** The public JWK reduced to its required members, with `kid` and `alg`; refuses anything else. */
export async function checkPublicJwk(input: unknown): Promise<JWK & { kid: string; alg: string }> {
  const bad = (why: string) => invalid(`the public key is not acceptable: ${why}`, 'jwk');
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad('not a JWK object');
  const jwk = input as Record<string, unknown>;
  for (const key of Object.keys(jwk)) if (!allowedMembers.has(key)) throw bad(`member "${key}" is not allowed (private or unknown)`);
  const curve = typeof jwk.crv === 'string' && Object.hasOwn(curves, jwk.crv) ? curves[jwk.crv as keyof typeof curves] : undefined;
  if (curve === undefined || jwk.kty !== curve.kty) throw bad('only Ed25519 (OKP) and P-256 (EC) keys are accepted');
  if (jwk.alg !== undefined && jwk.alg !== curve.alg) throw bad(`alg must be ${curve.alg}`);
  if (jwk.use !== undefined && jwk.use !== 'sig') throw bad('use must be sig');
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.every((op) => op === 'verify'))) {
    throw bad('key_ops may only contain verify');
  }
  if (curve.kty === 'OKP' && jwk.y !== undefined) throw bad('an OKP key has no y');
  const clean: JWK = { kty: curve.kty, crv: jwk.crv as string };
  for (const member of curve.members) {
    const value = jwk[member];
    if (typeof value !== 'string' || !b64url.test(value) || Buffer.from(value, 'base64url').length !== 32) {
      throw bad(`${member} must be 32 bytes of base64url`);
    }
    clean[member] = value;
  }
  try {
    await importJWK(clean, curve.alg);
  } catch {
    throw bad('it does not import as a public key');
  }
  const kid = jwk.kid === undefined ? await calculateJwkThumbprint(clean, 'sha256') : jwk.kid;
  if (typeof kid !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(kid)) throw invalid('kid must be 1..128 URL-safe characters', 'kid');
  return { ...clean, kid, alg: curve.alg };
}

function toCredential(row: Selectable<AgentCredentialsTable>): Credential {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: row.id,
    agent: row.agent,
    kind: row.kind as CredentialKind,
    kid: row.kid,
    label: row.label,
    publicJwk: row.public_jwk === null ? null : (JSON.parse(row.public_jwk) as JWK),
    expiresAt: n(row.expires_at),
    lastUsedAt: n(row.last_used_at),
    revokedAt: n(row.revoked_at),
    createdAt: Number(row.created_at),
  };
}

export function createCredentialStore({ db, barrier, audit, directory, now = Date.now }: CredentialStoreOptions): CredentialStore {
  let hashKey: Promise<Buffer> | undefined;
  const loadHashKey = async (): Promise<Buffer> => {
    const context = { table: 'system_keys', column: 'value', row: SECRET_HASH_KEY_NAME };
    const read = async () =>
      (await db.selectFrom('system_keys').select('value').where('name', '=', SECRET_HASH_KEY_NAME).executeTakeFirst())?.value;
    let stored = await read();
    if (stored === undefined) {
      const plaintext = randomBytes(32);
      const value = barrier.encrypt(plaintext, context);
      plaintext.fill(0);
      await db
        .insertInto('system_keys')
        .values({ name: SECRET_HASH_KEY_NAME, value, created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      stored = await read();
      if (stored === undefined) throw new WardenError('WARDEN_INTERNAL', 'the secret hash key vanished after insert');
    }
    return barrier.decrypt(stored, context);
  };
  const hash = async (secret: string): Promise<Buffer> => {
    hashKey ??= loadHashKey().catch((err: unknown) => {
      hashKey = undefined;
      throw err;
    });
    return createHmac('sha256', await hashKey).update(secret, 'utf8').digest();
  };

  /** Rows of the agent's credentials of `kind` that are neither revoked nor expired. */
  const current = async (agent: string, kind?: CredentialKind) => {
    let query = db
      .selectFrom('agent_credentials')
      .selectAll()
      .where('agent', '=', agent)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now())]));
    if (kind !== undefined) query = query.where('kind', '=', kind);
    return query.orderBy('created_at').orderBy('id').execute();
  };

  return {
    async add(agentName, input, ctx) {
      const agent = await directory.require(agentName);
      if (input.kind !== 'client_secret' && input.kind !== 'public_key') throw invalid('kind must be client_secret or public_key', 'kind');
      const label = input.label ?? null;
      if (label !== null && (typeof label !== 'string' || !/^[\x20-\x7e]{1,128}$/.test(label))) {
        throw invalid('label must be 1..128 printable ASCII characters', 'label');
      }
      const expiresAt = input.expiresAt ?? null;
      if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now())) {
        throw invalid('expiresAt must be a time in the future (milliseconds since the epoch)', 'expiresAt');
      }
      const existing = await current(agent.name);
      if (existing.length >= MAX_CURRENT_CREDENTIALS) {
        throw invalid(`an agent may hold at most ${MAX_CURRENT_CREDENTIALS} current credentials; revoke one first`, 'kind');
      }
      const id = `cred_${randomBytes(16).toString('hex')}`;
      let secret: string | undefined;
      let secretHash: Buffer | null = null;
      let publicJwk: (JWK & { kid: string }) | null = null;
      let kid: string;
      if (input.kind === 'client_secret') {
        if (input.jwk !== undefined) throw invalid('a client secret takes no jwk', 'jwk');
        secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
        secretHash = await hash(secret);
        kid = id;
      } else {
        publicJwk = await checkPublicJwk(input.jwk);
        kid = publicJwk.kid;
        if (existing.some((row) => row.kid === kid)) {
          throw new WardenError('WARDEN_CONFLICT', `agent ${agent.name} already has a current key with kid ${kid}`, { details: { kid } });
        }
      }
      await auditFirst(audit, ctx, {
        activityId: 1,
        action: 'credential.create',
        resource: { type: 'credential', id },
        details: { agent: agent.name, kind: input.kind, kid, expiresAt },
      });
      const row: Selectable<AgentCredentialsTable> = {
        id,
        agent: agent.name,
        kind: input.kind,
        secret_hash: secretHash,
        public_jwk: publicJwk === null ? null : JSON.stringify(publicJwk),
        kid,
        label,
        expires_at: expiresAt,
        last_used_at: null,
        revoked_at: null,
        created_at: now(),
      };
      await db.insertInto('agent_credentials').values(row).execute();
      directory.notifyChange(agent.name);
      return { ...toCredential(row), ...(secret === undefined ? {} : { secret }) };
    },

    async list(agentName) {
      const agent = await directory.require(agentName);
      const rows = await db
        .selectFrom('agent_credentials')
        .selectAll()
        .where('agent', '=', agent.name)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toCredential);
    },

    async revoke(agentName, id, ctx) {
      const agent = await directory.require(agentName);
      const find = () =>
        db.selectFrom('agent_credentials').selectAll().where('agent', '=', agent.name).where('id', '=', id).executeTakeFirst();
      const row = typeof id === 'string' && /^cred_[0-9a-f]{32}$/.test(id) ? await find() : undefined;
      if (row === undefined) throw new WardenError('WARDEN_NOT_FOUND', `agent ${agent.name} has no credential ${id}`, { details: { id } });
      if (row.revoked_at !== null) return toCredential(row);
      await auditFirst(audit, ctx, {
        activityId: 4,
        action: 'credential.revoke',
        resource: { type: 'credential', id },
        details: { agent: agent.name, kind: row.kind, kid: row.kid },
      });
      await db
        .updateTable('agent_credentials')
        .set({ revoked_at: now() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      directory.notifyChange(agent.name);
      return toCredential((await find())!);
    },

    async verifySecret(clientId, secret) {
      if (typeof secret !== 'string' || typeof clientId !== 'string' || secret.length > 256) return false;
      const presented = await hash(secret);
      const agent = await directory.get(clientId);
      if (agent === undefined || agent.status !== 'active' || !secret.startsWith(SECRET_PREFIX)) return false;
      let match: string | undefined;
      for (const row of await current(agent.name, 'client_secret')) {
        // Every candidate is compared (no early exit), each in constant time.
        if (row.secret_hash !== null && row.secret_hash.length === presented.length && timingSafeEqual(row.secret_hash, presented)) {
          match ??= row.id;
        }
      }
      if (match === undefined) return false;
      await db.updateTable('agent_credentials').set({ last_used_at: now() }).where('id', '=', match).execute();
      return true;
    },

    async publicKeys(clientId) {
      const agent = await directory.get(clientId);
      if (agent === undefined || agent.status !== 'active') return [];
      const rows = await current(agent.name, 'public_key');
      return rows.flatMap((row) => (row.public_jwk === null ? [] : [JSON.parse(row.public_jwk) as JWK]));
    },
  };
}
