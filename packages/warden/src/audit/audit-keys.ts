/**
 * The audit log's own keys, kept in `system_keys` under the barrier: the Ed25519 checkpoint-signing key,
 * the 32-byte HMAC key that replaces sensitive values in entries, and the log's origin
 * (`warden/<16 hex>`, the name every checkpoint is signed for). Each is created on first open with an
 * insert-if-absent and then read back, so two nodes opening a fresh database at once agree on the one
 * value that won. `hmac(value)` is `hmac-sha256:<base64>` under the HMAC key.
 */
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Barrier } from '../barrier/index.js';
import type { Database } from '../store/database.js';

export const SIGNING_KEY_NAME = 'audit.checkpoint-signing-key';
export const HMAC_KEY_NAME = 'audit.hmac-key';
export const ORIGIN_NAME = 'audit.origin';

export interface AuditKeys {
  /** `warden/<16 hex>`: the checkpoint origin (and signer name) of this log. */
  readonly origin: string;
  readonly signingKey: KeyObject;
  readonly publicKey: KeyObject;
  /** `hmac-sha256:<base64>` of `value` under the audit HMAC key. */
  readonly hmac: (value: string) => string;
}

export interface LoadAuditKeysOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
}

/** Loads the audit keys, creating any that do not exist yet (safe against a concurrent node). */
export async function loadAuditKeys({ db, barrier }: LoadAuditKeysOptions): Promise<AuditKeys> {
  const load = async (name: string, generate: () => Buffer): Promise<Buffer> => {
    const context = { table: 'system_keys', column: 'value', row: name };
    const read = async () =>
      (await db.selectFrom('system_keys').select('value').where('name', '=', name).executeTakeFirst())?.value;
    let stored = await read();
    if (stored === undefined) {
      const plaintext = generate();
      const value = barrier.encrypt(plaintext, context);
      plaintext.fill(0);
      await db
        .insertInto('system_keys')
        .values({ name, value, created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      stored = await read();
      if (stored === undefined) throw new Error(`system key ${name} vanished after insert`);
    }
    return barrier.decrypt(stored, context);
  };

  const pkcs8 = await load(SIGNING_KEY_NAME, () =>
    generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }),
  );
  const signingKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  pkcs8.fill(0);
  const hmacKey = await load(HMAC_KEY_NAME, () => randomBytes(32));
  const origin = (await load(ORIGIN_NAME, () => Buffer.from(`warden/${randomBytes(8).toString('hex')}`, 'utf8'))).toString(
    'utf8',
  );
  return {
    origin,
    signingKey,
    publicKey: createPublicKey(signingKey),
    hmac: (value) => `hmac-sha256:${createHmac('sha256', hmacKey).update(value, 'utf8').digest('base64')}`,
  };
}
