/**
 * The keyring: keys, their versions and their lifecycle, stored in `kms_keys` / `kms_key_versions`.
 * Software material is generated here and stored only as barrier ciphertext; HSM material is generated
 * in the token (`hsm-keys.ts`) and only its label is stored. Every change is audited first (the change is
 * refused when the log cannot record it), and the entry's index goes back to the caller as a receipt.
 *
 * `use(name)` is the operations' view: the key's metadata (re-read at most every `cacheTtlMs`, so a
 * change on another node takes effect within that time; changes on this node at once) and the
 * cryptography of each version, unwrapped on first use and zeroed when the key changes or the keyring
 * closes. Usage counts are kept in memory and added to the versions' rows every `usageFlushMs`.
 *
 * Destruction is two-step: `scheduleDestruction` puts the key in `pending_destruction` (every operation
 * refused, cancellable) for 7..30 days; `destroyDue` (run by the scheduler) then erases every version's
 * material — NULL in the database, objects destroyed in the HSM — so every ciphertext under the key is
 * unrecoverable, and records the erasure. Rotation (`rotate`, and `rotateDue` for keys with a rotation
 * period) adds a version with compare-and-set on `latest_version`, so two nodes never rotate twice.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { AuditEvent, AuditLog } from '../audit/index.js';
import type { Barrier } from '../barrier/index.js';
import { WardenError, isWardenError } from '../errors/index.js';
import { auditFirst, type ChangeContext } from '../identity/agents.js';
import type { Database } from '../store/index.js';
import type { KmsKeysTable, KmsKeyVersionsTable } from '../store/tables-kms.js';
import { checkImportedMaterial, generateWrappingKeyPair, unwrapKeyMaterial } from './byok.js';
import type { HsmKeyStore } from './hsm-keys.js';
import { generateMaterial, hsmCrypto, publicKeyOf, softwareCrypto, spkiPem, type VersionCrypto } from './key-material.js';
import { KEY_TYPES, type Key, type KeyDetails, type KeyOrigin, type KeyProtection, type KeyState, type KeyType, type KeyVersion, type KeyVersionState } from './types.js';

export const keyNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const regionPattern = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const MIN_DESTRUCTION_DAYS = 7;
export const MAX_DESTRUCTION_DAYS = 30;
export const DEFAULT_DESTRUCTION_DAYS = 30;
const DAY = 86_400_000;
const WRAPPING_KEY_NAME = 'kms-import-wrapping-key';

export interface NewKey {
  name: string;
  type: KeyType;
  protection?: KeyProtection;
  region?: string;
  labels?: Record<string, string>;
  rotationPeriodMs?: number | null;
}
export interface KeyUpdate {
  rotationPeriodMs?: number | null;
  minDecryptionVersion?: number;
  minEncryptionVersion?: number;
  labels?: Record<string, string>;
}
/** One version ready for operations. */
export interface UsableVersion {
  readonly version: number;
  readonly state: KeyVersionState;
  readonly crypto: VersionCrypto;
}
/** What the operations need of a key: its metadata and its versions' cryptography. */
export interface KeyInUse {
  readonly key: Key;
  /** The version's cryptography; undefined when the version does not exist or holds no material. */
  version(version: number): Promise<UsableVersion | undefined>;
}
export interface PublicKey {
  name: string;
  version: number;
  pem: string;
  jwk: Record<string, unknown>;
}

export interface Keyring {
  create(input: NewKey, ctx: ChangeContext): Promise<KeyDetails>;
  list(): Promise<Key[]>;
  /** WARDEN_NOT_FOUND when there is no such key. */
  get(name: string): Promise<KeyDetails>;
  update(name: string, update: KeyUpdate, ctx: ChangeContext): Promise<KeyDetails>;
  rotate(name: string, ctx: ChangeContext): Promise<KeyDetails>;
  disable(name: string, ctx: ChangeContext): Promise<KeyDetails>;
  enable(name: string, ctx: ChangeContext): Promise<KeyDetails>;
  setVersionState(name: string, version: number, state: 'enabled' | 'disabled', ctx: ChangeContext): Promise<KeyDetails>;
  scheduleDestruction(name: string, days: number, ctx: ChangeContext): Promise<KeyDetails>;
  cancelDestruction(name: string, ctx: ChangeContext): Promise<KeyDetails>;
  /** The public key of an asymmetric key's version (default: latest). */
  publicKey(name: string, version?: number): Promise<PublicKey>;
  /** The RSA-3072 public key importers wrap material for (created on first use). */
  wrappingKey(): Promise<string>;
  /** Imports wrapped material (see `byok.ts`) as a new latest version. */
  import(name: string, wrapped: Buffer, ctx: ChangeContext): Promise<KeyDetails>;
  /** Rotates every enabled key whose rotation is due; returns their names. */
  rotateDue(now?: number): Promise<string[]>;
  /** Destroys every key whose destruction window has ended; returns their names. */
  destroyDue(now?: number): Promise<string[]>;
  /** For operations (see the module comment). WARDEN_NOT_FOUND for an unknown key. */
  use(name: string): Promise<KeyInUse>;
  /** Counts one use of a version (flushed to the store periodically). */
  recordUse(keyId: string, version: number, count?: number): void;
  /** Writes pending usage counts now. */
  flushUsage(): Promise<void>;
  /** Tells the keyring another component changed `name` (drops cached state). */
  onChange(listener: (name: string) => void): () => void;
  close(): Promise<void>;
}

export interface KeyringOptions {
  db: Kysely<Database>;
  barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  audit: Pick<AuditLog, 'append'>;
  /** The HSM for `hsm` keys; without it creating one is refused. */
  hsm?: HsmKeyStore;
  /**
   * Runs scheduler work while holding the scheduler lock (`scheduler.ts`): in a locked transaction on
   * PostgreSQL, directly on SQLite (one node; its audit log writes on another connection, so the work
   * must not hold a transaction open while it appends). `{ locked: false }` when another node holds it.
   */
  lockedTransaction?: <T>(fn: (q: Kysely<Database>) => Promise<T>) => Promise<{ locked: true; value: T } | { locked: false }>;
  cacheTtlMs?: number;
  usageFlushMs?: number;
  now?: () => number;
}

const notFound = (name: string) => new WardenError('WARDEN_NOT_FOUND', `key ${name} not found`, { details: { name } });
const conflict = (message: string, details?: Record<string, unknown>) => new WardenError('WARDEN_CONFLICT', message, details ? { details } : {});
const materialContext = (id: string) => ({ table: 'kms_key_versions', column: 'material', row: id });
const versionId = (keyId: string, version: number) => `${keyId}:${version}`;
const hsmLabel = (keyId: string, version: number) => `warden-kms-${keyId}-v${version}`;

function toKey(row: KmsKeysTable): Key {
  return {
    id: row.id,
    name: row.name,
    type: row.type as KeyType,
    protection: row.protection as KeyProtection,
    region: row.region,
    labels: JSON.parse(row.labels) as Record<string, string>,
    rotationPeriodMs: row.rotation_period_ms === null ? null : Number(row.rotation_period_ms),
    state: row.state as KeyState,
    latestVersion: Number(row.latest_version),
    minDecryptionVersion: Number(row.min_decryption_version),
    minEncryptionVersion: Number(row.min_encryption_version),
    nextRotationAt: row.next_rotation_at === null ? null : Number(row.next_rotation_at),
    destroyAt: row.destroy_at === null ? null : Number(row.destroy_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toVersion(row: Omit<KmsKeyVersionsTable, 'material'>): KeyVersion {
  return {
    keyId: row.key_id,
    version: Number(row.version),
    state: row.state as KeyVersionState,
    origin: row.origin as KeyOrigin,
    createdAt: Number(row.created_at),
    usageCount: Number(row.usage_count),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

/** Runs `fn` in `q`'s transaction, or in a new one. */
const atomically = <T>(q: Kysely<Database>, fn: (t: Kysely<Database>) => Promise<T>): Promise<T> => (q.isTransaction ? fn(q) : q.transaction().execute(fn));

const schedulerEvent = (action: string, key: Key, details: Record<string, number | boolean>): AuditEvent => ({
  class: 'entity_management',
  activityId: action === 'kms.key.destroy' ? 4 : 3,
  action,
  actor: { type: 'system', id: 'kms-scheduler' },
  resource: { type: 'key', id: key.name },
  outcome: 'success',
  details: { keyId: key.id, ...details },
});

const versionColumns = ['id', 'key_id', 'version', 'state', 'origin', 'hsm_label', 'public_key', 'usage_count', 'last_used_at', 'created_at'] as const;

/** The key's state refusal, if any (operations call this before touching material). */
export function keyStateError(key: Key): WardenError | undefined {
  switch (key.state) {
    case 'enabled':
      return undefined;
    case 'disabled':
      return new WardenError('WARDEN_KMS_KEY_DISABLED', `key ${key.name} is disabled`, { details: { name: key.name } });
    case 'pending_destruction':
      return new WardenError('WARDEN_KMS_KEY_PENDING_DESTRUCTION', `key ${key.name} is scheduled for destruction`, { details: { name: key.name } });
    case 'destroyed':
      return new WardenError('WARDEN_KMS_KEY_DESTROYED', `key ${key.name} has been destroyed`, { details: { name: key.name } });
  }
}

export function createKeyring(options: KeyringOptions): Keyring {
  const { db, barrier, audit, hsm } = options;
  const now = options.now ?? Date.now;
  const cacheTtlMs = options.cacheTtlMs ?? 1000;
  const lockedTransaction = options.lockedTransaction ?? (async <T>(fn: (q: Kysely<Database>) => Promise<T>) => ({ locked: true as const, value: await fn(db) }));
  const listeners = new Set<(name: string) => void>();
  /** name -> cached key in use. */
  const cache = new Map<string, CacheEntry>();
  const usage = new Map<string, { count: number; last: number }>();
  let closed = false;

  const drop = (name: string): void => {
    const entry = cache.get(name);
    cache.delete(name);
    if (entry) disposeAll(entry.cryptos);
    for (const listener of listeners) listener(name);
  };

  const row = async (name: string, q: Kysely<Database> = db): Promise<KmsKeysTable> => {
    const found = await q.selectFrom('kms_keys').selectAll().where('name', '=', name).executeTakeFirst();
    if (!found) throw notFound(name);
    return found;
  };

  async function details(name: string, q: Kysely<Database> = db): Promise<KeyDetails> {
    const key = toKey(await row(name, q));
    const versions = await q.selectFrom('kms_key_versions').select(versionColumns).where('key_id', '=', key.id).orderBy('version').execute();
    return { ...key, versions: versions.map(toVersion) };
  }

  /** Makes material for a new version; returns the columns to store. */
  function newMaterial(key: Pick<Key, 'id' | 'type' | 'protection'>, version: number, imported?: Buffer): Pick<KmsKeyVersionsTable, 'material' | 'hsm_label' | 'public_key'> {
    const id = versionId(key.id, version);
    if (key.protection === 'hsm') {
      if (!hsm) throw new WardenError('WARDEN_KMS_HSM_UNAVAILABLE', 'this server has no HSM (the seal is not pkcs11)');
      if (imported) throw new WardenError('WARDEN_KMS_UNSUPPORTED_OPERATION', 'material cannot be imported into an HSM-protected key');
      const label = hsmLabel(key.id, version);
      const { publicKeySpki } = hsm.generate(key.type, label);
      return { material: null, hsm_label: label, public_key: publicKeySpki ? spkiPem(publicKeySpki) : null };
    }
    const material = imported ?? generateMaterial(key.type);
    try {
      return { material: barrier.encrypt(material, materialContext(id)), hsm_label: null, public_key: publicKeyOf(key.type, material) ?? null };
    } finally {
      material.fill(0);
    }
  }

  async function insertVersion(trx: Kysely<Database>, key: Pick<Key, 'id' | 'type' | 'protection'>, version: number, origin: KeyOrigin, imported?: Buffer): Promise<void> {
    const at = now();
    await trx
      .insertInto('kms_key_versions')
      .values({ id: versionId(key.id, version), key_id: key.id, version, state: 'enabled', origin, ...newMaterial(key, version, imported), usage_count: 0, last_used_at: null, created_at: at })
      .execute();
  }

  /** Adds version latest+1 with compare-and-set; false when another writer moved `latest_version` first. */
  async function addVersion(trx: Kysely<Database>, key: Key, origin: KeyOrigin, imported?: Buffer): Promise<boolean> {
    const next = key.latestVersion + 1;
    const at = now();
    const result = await trx
      .updateTable('kms_keys')
      .set({ latest_version: next, updated_at: at, next_rotation_at: key.rotationPeriodMs === null ? null : at + key.rotationPeriodMs })
      .where('id', '=', key.id)
      .where('latest_version', '=', key.latestVersion)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    await insertVersion(trx, key, next, origin, imported);
    return true;
  }

  /** Audits, then applies `change` to the key's row in a transaction; refreshes caches. */
  /**
   * Reads the key, runs `check` (refusals happen before anything is recorded), audits, then applies the
   * change in a transaction and refreshes caches.
   */
  async function change(
    name: string,
    ctx: ChangeContext,
    action: string,
    details_: Record<string, string | number | null>,
    check: (key: Key) => void,
    apply: (key: Key, trx: Transaction<Database>) => Promise<void>,
  ): Promise<KeyDetails> {
    const key = toKey(await row(name));
    check(key);
    await auditFirst(audit, ctx, { activityId: 3, action, resource: { type: 'key', id: name }, details: { keyId: key.id, ...details_ } });
    await db.transaction().execute((trx) => apply(key, trx));
    drop(name);
    return details(name);
  }

  /** Destroyed keys cannot change; keys pending destruction get no new material either. */
  function assertMutable(key: Key, newMaterial = false): void {
    if (key.state === 'destroyed' || (newMaterial && key.state === 'pending_destruction')) throw keyStateError(key)!;
  }

  interface CacheEntry {
    loadedAt: number;
    inUse: Promise<KeyInUse>;
    /** The key's `updatedAt` when its cryptos were made; any change drops them. */
    updatedAt?: number;
    cryptos: Map<number, Promise<UsableVersion | undefined>>;
  }

  async function loadInUse(name: string, entry: CacheEntry): Promise<KeyInUse> {
    const key = toKey(await row(name));
    if (entry.updatedAt !== undefined && entry.updatedAt !== key.updatedAt) {
      disposeAll(entry.cryptos);
      for (const listener of listeners) listener(name);
    }
    entry.updatedAt = key.updatedAt;
    const rows = await db.selectFrom('kms_key_versions').selectAll().where('key_id', '=', key.id).execute();
    const byVersion = new Map(rows.map((r) => [Number(r.version), r]));
    const { cryptos } = entry;
    const make = async (version: number): Promise<UsableVersion | undefined> => {
      const r = byVersion.get(version);
      if (!r || r.state === 'destroyed') return undefined;
      if (r.hsm_label !== null) {
        if (!hsm) throw new WardenError('WARDEN_KMS_HSM_UNAVAILABLE', 'this key lives in an HSM this server cannot reach');
        return { version, state: r.state as KeyVersionState, crypto: hsmCrypto(key.type, hsm, r.hsm_label, r.public_key ?? undefined) };
      }
      if (r.material === null) return undefined;
      const material = await barrier.decrypt(r.material, materialContext(r.id));
      try {
        return { version, state: r.state as KeyVersionState, crypto: softwareCrypto(key.type, material, r.public_key ?? undefined) };
      } finally {
        material.fill(0);
      }
    };
    return {
      key,
      version(version) {
        let found = cryptos.get(version);
        if (!found) {
          found = make(version);
          found.catch(() => cryptos.delete(version));
          cryptos.set(version, found);
        }
        return found;
      },
    };
  }

  function disposeAll(cryptos: Map<number, Promise<UsableVersion | undefined>>): void {
    for (const crypto of cryptos.values()) void crypto.then((v) => v?.crypto.dispose(), () => undefined);
    cryptos.clear();
  }

  /** Only enabled and disabled keys can be switched between the two. */
  const switchable = (key: Key): void => {
    if (key.state !== 'enabled' && key.state !== 'disabled') throw keyStateError(key)!;
  };

  const keyring: Keyring = {
    async create(input, ctx) {
      if (!keyNamePattern.test(input.name)) throw new WardenError('WARDEN_VALIDATION_FAILED', 'invalid key name', { details: { name: input.name } });
      if (!KEY_TYPES.includes(input.type)) throw new WardenError('WARDEN_VALIDATION_FAILED', `unknown key type ${input.type}`);
      const protection = input.protection ?? 'software';
      if (protection === 'hsm' && !hsm) throw new WardenError('WARDEN_KMS_HSM_UNAVAILABLE', 'this server has no HSM (the seal is not pkcs11)');
      if (await db.selectFrom('kms_keys').select('id').where('name', '=', input.name).executeTakeFirst()) throw conflict(`key ${input.name} already exists`, { name: input.name });
      const id = `key_${randomBytes(16).toString('hex')}`;
      const at = now();
      const rotation = input.rotationPeriodMs ?? null;
      await auditFirst(audit, ctx, {
        activityId: 1,
        action: 'kms.key.create',
        resource: { type: 'key', id: input.name },
        details: { keyId: id, type: input.type, protection, rotationPeriodMs: rotation },
      });
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('kms_keys')
            .values({
              id,
              name: input.name,
              type: input.type,
              protection,
              region: input.region ?? 'default',
              labels: JSON.stringify(input.labels ?? {}),
              rotation_period_ms: rotation,
              state: 'enabled',
              latest_version: 1,
              min_decryption_version: 1,
              min_encryption_version: 1,
              next_rotation_at: rotation === null ? null : at + rotation,
              destroy_at: null,
              created_at: at,
              updated_at: at,
            })
            .execute();
          await insertVersion(trx, { id, type: input.type, protection }, 1, 'generated');
        });
      } catch (err) {
        if (isWardenError(err)) throw err;
        if (await db.selectFrom('kms_keys').select('id').where('name', '=', input.name).executeTakeFirst()) throw conflict(`key ${input.name} already exists`, { name: input.name });
        throw err;
      }
      return details(input.name);
    },
    async list() {
      return (await db.selectFrom('kms_keys').selectAll().orderBy('name').execute()).map(toKey);
    },
    get: (name) => details(name),
    update(name, update, ctx) {
      const minimums = (key: Key) => ({ decryption: update.minDecryptionVersion ?? key.minDecryptionVersion, encryption: update.minEncryptionVersion ?? key.minEncryptionVersion });
      const check = (key: Key) => {
        assertMutable(key);
        const { decryption, encryption } = minimums(key);
        if (decryption > key.latestVersion || encryption > key.latestVersion) {
          throw new WardenError('WARDEN_VALIDATION_FAILED', `minimum versions cannot exceed the latest version (${key.latestVersion})`);
        }
      };
      return change(name, ctx, 'kms.key.update', { fields: Object.keys(update).sort().join(',') }, check, async (key, trx) => {
        const { decryption: minDecryption, encryption: minEncryption } = minimums(key);
        const rotation = update.rotationPeriodMs === undefined ? key.rotationPeriodMs : update.rotationPeriodMs;
        await trx
          .updateTable('kms_keys')
          .set({
            min_decryption_version: minDecryption,
            min_encryption_version: minEncryption,
            rotation_period_ms: rotation,
            next_rotation_at: rotation === null ? null : update.rotationPeriodMs === undefined ? key.nextRotationAt : now() + rotation,
            labels: JSON.stringify(update.labels ?? key.labels),
            updated_at: now(),
          })
          .where('id', '=', key.id)
          .execute();
      });
    },
    rotate(name, ctx) {
      return change(name, ctx, 'kms.key.rotate', {}, (key) => assertMutable(key, true), async (key, trx) => {
        if (!(await addVersion(trx, key, 'generated'))) throw conflict(`key ${name} was rotated concurrently; retry`);
      });
    },
    disable(name, ctx) {
      return change(name, ctx, 'kms.key.disable', {}, switchable, async (key, trx) => {
        await trx.updateTable('kms_keys').set({ state: 'disabled', updated_at: now() }).where('id', '=', key.id).execute();
      });
    },
    enable(name, ctx) {
      return change(name, ctx, 'kms.key.enable', {}, switchable, async (key, trx) => {
        await trx.updateTable('kms_keys').set({ state: 'enabled', updated_at: now() }).where('id', '=', key.id).execute();
      });
    },
    setVersionState(name, version, state, ctx) {
      return change(name, ctx, state === 'disabled' ? 'kms.version.disable' : 'kms.version.enable', { version }, (key) => assertMutable(key), async (key, trx) => {
        const result = await trx
          .updateTable('kms_key_versions')
          .set({ state })
          .where('key_id', '=', key.id)
          .where('version', '=', version)
          .where('state', '!=', 'destroyed')
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw new WardenError('WARDEN_NOT_FOUND', `key ${name} has no version ${version}`, { details: { name, version } });
        await trx.updateTable('kms_keys').set({ updated_at: now() }).where('id', '=', key.id).execute();
      });
    },
    async scheduleDestruction(name, days, ctx) {
      if (!Number.isInteger(days) || days < MIN_DESTRUCTION_DAYS || days > MAX_DESTRUCTION_DAYS) {
        throw new WardenError('WARDEN_VALIDATION_FAILED', `the destruction window is ${MIN_DESTRUCTION_DAYS} to ${MAX_DESTRUCTION_DAYS} days`);
      }
      const destroyAt = now() + days * DAY;
      const check = (key: Key) => {
        if (key.state === 'pending_destruction' || key.state === 'destroyed') throw keyStateError(key)!;
      };
      return change(name, ctx, 'kms.key.schedule_destruction', { days, destroyAt }, check, async (key, trx) => {
        await trx.updateTable('kms_keys').set({ state: 'pending_destruction', destroy_at: destroyAt, updated_at: now() }).where('id', '=', key.id).execute();
      });
    },
    cancelDestruction(name, ctx) {
      const check = (key: Key) => {
        if (key.state !== 'pending_destruction') throw conflict(`key ${name} is not scheduled for destruction`, { name, state: key.state });
      };
      return change(name, ctx, 'kms.key.cancel_destruction', {}, check, async (key, trx) => {
        // A cancelled key comes back disabled: an admin re-enables it deliberately.
        await trx.updateTable('kms_keys').set({ state: 'disabled', destroy_at: null, updated_at: now() }).where('id', '=', key.id).execute();
      });
    },
    async publicKey(name, version) {
      const key = toKey(await row(name));
      if (key.type !== 'ed25519' && key.type !== 'ecdsa-p256') throw new WardenError('WARDEN_KMS_UNSUPPORTED_OPERATION', `a ${key.type} key has no public key`);
      if (key.state === 'destroyed') throw keyStateError(key)!;
      const v = version ?? key.latestVersion;
      const found = await db.selectFrom('kms_key_versions').select('public_key').where('key_id', '=', key.id).where('version', '=', v).executeTakeFirst();
      if (!found?.public_key) throw new WardenError('WARDEN_NOT_FOUND', `key ${name} has no version ${v}`, { details: { name, version: v } });
      return { name, version: v, pem: found.public_key, jwk: createPublicKey(found.public_key).export({ format: 'jwk' }) };
    },
    async wrappingKey() {
      return (await wrappingKeyPair()).publicKeyPem;
    },
    async import(name, wrapped, ctx) {
      const key = toKey(await row(name));
      assertMutable(key, true);
      if (key.protection === 'hsm') throw new WardenError('WARDEN_KMS_UNSUPPORTED_OPERATION', 'material cannot be imported into an HSM-protected key');
      const { privateKeyDer } = await wrappingKeyPair();
      const unwrapped = unwrapKeyMaterial(privateKeyDer, wrapped);
      let material: Buffer;
      try {
        material = checkImportedMaterial(key.type, unwrapped);
      } finally {
        unwrapped.fill(0);
      }
      try {
        return await change(name, ctx, 'kms.key.import', { version: key.latestVersion + 1 }, (current) => assertMutable(current, true), async (current, trx) => {
          if (!(await addVersion(trx, current, 'imported', material))) throw conflict(`key ${name} was rotated concurrently; retry`);
        });
      } finally {
        material.fill(0);
        privateKeyDer.fill(0);
      }
    },
    async rotateDue(at = now()) {
      const due = await db.selectFrom('kms_keys').select('name').where('state', '=', 'enabled').where('next_rotation_at', '<=', at).execute();
      const rotated: string[] = [];
      for (const { name } of due) {
        const outcome = await lockedTransaction(async (q) => {
          // Re-read under the lock: another node may have rotated it since the list was read.
          const key = toKey(await row(name, q));
          if (key.state !== 'enabled' || key.nextRotationAt === null || key.nextRotationAt > at) return false;
          await audit.append(schedulerEvent('kms.key.rotate', key, { version: key.latestVersion + 1, automatic: true }));
          return atomically(q, (t) => addVersion(t, key, 'generated'));
        });
        if (outcome.locked && outcome.value) {
          rotated.push(name);
          drop(name);
        }
      }
      return rotated;
    },
    async destroyDue(at = now()) {
      const due = await db.selectFrom('kms_keys').select('name').where('state', '=', 'pending_destruction').where('destroy_at', '<=', at).execute();
      const destroyed: string[] = [];
      for (const { name } of due) {
        const outcome = await lockedTransaction(async (q) => {
          const key = toKey(await row(name, q));
          if (key.state !== 'pending_destruction' || key.destroyAt === null || key.destroyAt > at) return undefined;
          // The erasure is recorded before it happens; an unrecordable destruction does not happen.
          await audit.append(schedulerEvent('kms.key.destroy', key, { versions: key.latestVersion }));
          const labels = await atomically(q, async (t) => {
            const result = await t
              .updateTable('kms_keys')
              .set({ state: 'destroyed', updated_at: now() })
              .where('id', '=', key.id)
              .where('state', '=', 'pending_destruction')
              .executeTakeFirst();
            if (result.numUpdatedRows === 0n) return undefined;
            const hsmObjects = await t.selectFrom('kms_key_versions').select('hsm_label').where('key_id', '=', key.id).where('hsm_label', 'is not', null).execute();
            await t.updateTable('kms_key_versions').set({ material: null, state: 'destroyed' }).where('key_id', '=', key.id).execute();
            return hsmObjects;
          });
          return labels;
        });
        if (outcome.locked && outcome.value) {
          // HSM objects go only once the erasure is committed (a failed commit leaves the key cancellable).
          for (const { hsm_label } of outcome.value) if (hsm_label) hsm?.destroy(hsm_label);
          destroyed.push(name);
          drop(name);
        }
      }
      return destroyed;
    },
    async use(name) {
      if (closed) throw new WardenError('WARDEN_SEALED', 'the keyring is closed');
      const entry = cache.get(name);
      if (entry && now() - entry.loadedAt < cacheTtlMs) return entry.inUse;
      // Expired: re-read the metadata, keeping the versions' cryptos unless the key changed.
      const fresh: CacheEntry = entry ?? { loadedAt: 0, inUse: Promise.resolve(undefined as unknown as KeyInUse), cryptos: new Map() };
      fresh.loadedAt = now();
      fresh.inUse = loadInUse(name, fresh);
      cache.set(name, fresh);
      fresh.inUse.catch(() => {
        if (cache.get(name) === fresh) drop(name);
      });
      return fresh.inUse;
    },
    recordUse(keyId, version, count = 1) {
      const id = versionId(keyId, version);
      const entry = usage.get(id);
      if (entry) {
        entry.count += count;
        entry.last = now();
      } else usage.set(id, { count, last: now() });
    },
    async flushUsage() {
      const pending = [...usage];
      usage.clear();
      for (const [id, { count, last }] of pending) {
        await db
          .updateTable('kms_key_versions')
          .set({ usage_count: sql`usage_count + ${count}`, last_used_at: sql`CASE WHEN last_used_at IS NULL OR last_used_at < ${last} THEN ${last} ELSE last_used_at END` })
          .where('id', '=', id)
          .execute();
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      clearInterval(flushTimer);
      await keyring.flushUsage().catch(() => undefined);
      closed = true;
      for (const name of [...cache.keys()]) drop(name);
      listeners.clear();
    },
  };

  let wrapping: Promise<{ publicKeyPem: string; der: Buffer }> | undefined;
  async function wrappingKeyPair(): Promise<{ publicKeyPem: string; privateKeyDer: Buffer }> {
    const loading = (wrapping ??= (async () => {
      const context = { table: 'system_keys', column: 'value', row: WRAPPING_KEY_NAME };
      const read = async () => (await db.selectFrom('system_keys').select('value').where('name', '=', WRAPPING_KEY_NAME).executeTakeFirst())?.value;
      let stored = await read();
      if (stored === undefined) {
        const pair = generateWrappingKeyPair();
        const value = barrier.encrypt(pair.privateKeyDer, context);
        pair.privateKeyDer.fill(0);
        await db.insertInto('system_keys').values({ name: WRAPPING_KEY_NAME, value, created_at: now() }).onConflict((oc) => oc.column('name').doNothing()).execute();
        stored = await read();
        if (stored === undefined) throw new WardenError('WARDEN_INTERNAL', 'the import wrapping key vanished after insert');
      }
      const der = await barrier.decrypt(stored, context);
      const publicKeyPem = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'pem' }) as string;
      return { publicKeyPem, der };
    })());
    loading.catch(() => {
      wrapping = undefined;
    });
    const { publicKeyPem, der } = await loading;
    return { publicKeyPem, privateKeyDer: Buffer.from(der) };
  }

  const flushTimer = setInterval(() => {
    keyring.flushUsage().catch(() => undefined);
  }, options.usageFlushMs ?? 2000);
  flushTimer.unref();
  return keyring;
}
