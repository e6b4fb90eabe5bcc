/**
 * The access-token signing keys: Ed25519 key pairs named by a random `kid`, the private half stored as
 * barrier ciphertext in `token_signing_keys` (context `{table, column: 'private_key', row: kid}`), the
 * public half as a JWK. The first open creates a key; `rotate()` adds a new current key and retires the
 * others. A retired key stays in the JWKS (and keeps verifying) until every token it could have signed
 * has expired — `retired_at + maxTokenTtl` — then drops out. Keys created or rotated by another node are
 * picked up by `reload()`, which the verifier calls (throttled) when it meets an unknown `kid`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Barrier } from '../barrier/index.js';
import type { Database } from '../store/database.js';

/** The longest access-token lifetime the config allows (1 h) plus the verifier's leeway. */
export const DEFAULT_MAX_TOKEN_TTL = 3_600_000 + 30_000;

export interface SigningKey {
  readonly kid: string;
  readonly publicKey: KeyObject;
  readonly publicJwk: JWK;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

export interface CurrentSigningKey extends SigningKey {
  readonly privateKey: KeyObject;
}

export interface SigningKeys {
  /** The key new tokens are signed with. */
  current(): CurrentSigningKey;
  /** A key that may still verify tokens (current, or retired less than maxTokenTtl ago). */
  find(kid: string): SigningKey | undefined;
  /** The public JWK set: every key that may still verify a token. */
  jwks(): { keys: JWK[] };
  /** Makes a new current key and retires the previous ones; returns the new kid. */
  rotate(): Promise<string>;
  /** Re-reads the keys from the store (keys rotated by another node). */
  reload(): Promise<void>;
}

export interface OpenSigningKeysOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  /** How long a retired key keeps verifying (default 1 h + 30 s). */
  readonly maxTokenTtl?: number;
  readonly now?: () => number;
}

const context = (kid: string) => ({ table: 'token_signing_keys', column: 'private_key', row: kid });

/** Opens the signing keys, creating the first one when there is none. */
export async function openSigningKeys({ db, barrier, maxTokenTtl = DEFAULT_MAX_TOKEN_TTL, now = Date.now }: OpenSigningKeysOptions): Promise<SigningKeys> {
  let keys = new Map<string, SigningKey>();
  let current: CurrentSigningKey | undefined;

  const create = async (): Promise<string> => {
    const kid = randomBytes(12).toString('base64url');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
    const sealed = barrier.encrypt(der, context(kid));
    der.fill(0);
    await db
      .insertInto('token_signing_keys')
      .values({ kid, private_key: sealed, public_jwk: JSON.stringify(jwk), created_at: now(), retired_at: null })
      .execute();
    return kid;
  };

  const load = async (): Promise<void> => {
    const rows = await db.selectFrom('token_signing_keys').selectAll().orderBy('created_at', 'asc').orderBy('kid', 'asc').execute();
    const fresh = new Map<string, SigningKey>();
    let latest: (typeof rows)[number] | undefined;
    for (const row of rows) {
      const retiredAt = row.retired_at === null ? null : Number(row.retired_at);
      if (retiredAt === null) latest = row;
      if (retiredAt !== null && retiredAt + maxTokenTtl <= now()) continue;
      const publicJwk = JSON.parse(row.public_jwk) as JWK;
      const known = keys.get(row.kid);
      fresh.set(row.kid, {
        kid: row.kid,
        publicKey: known?.publicKey ?? createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }),
        publicJwk,
        createdAt: Number(row.created_at),
        retiredAt,
      });
    }
    if (latest === undefined) throw new Error('no current token signing key');
    if (current?.kid !== latest.kid) {
      const der = await barrier.decrypt(latest.private_key, context(latest.kid));
      const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      der.fill(0);
      current = { ...fresh.get(latest.kid)!, privateKey };
    }
    keys = fresh;
  };

  const hasCurrent = async () =>
    (await db.selectFrom('token_signing_keys').select('kid').where('retired_at', 'is', null).executeTakeFirst()) !== undefined;
  if (!(await hasCurrent())) await create();
  await load();

  const visible = (key: SigningKey) => key.retiredAt === null || key.retiredAt + maxTokenTtl > now();

  return {
    current: () => current!,
    find(kid) {
      const key = keys.get(kid);
      return key !== undefined && visible(key) ? key : undefined;
    },
    jwks: () => ({ keys: [...keys.values()].filter(visible).map((k) => ({ ...k.publicJwk })) }),
    async rotate() {
      const kid = await create();
      await db.updateTable('token_signing_keys').set({ retired_at: now() }).where('retired_at', 'is', null).where('kid', '!=', kid).execute();
      await load();
      return kid;
    },
    reload: load,
  };
}
