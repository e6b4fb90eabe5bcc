/**
 * Named secrets for upstreams (API tokens, passwords): set, list, delete and — for Warden itself only —
 * reveal. Values are encrypted through the barrier, bound to their row (`{table: 'secrets', column:
 * 'value', row: name}`), and stored by the `secrets` repository; the plaintext is never written to the
 * store, the audit log or a log line, and nothing here returns it except `reveal`, which no HTTP route
 * exposes (the gateway calls it when it talks upstream). Every change is audited before it is made: if
 * the entry cannot be made durable the change is refused (WARDEN_AUDIT_UNAVAILABLE) and nothing changes.
 */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Barrier, BarrierContext } from '../barrier/index.js';
import { WardenError, isWardenError } from '../errors/index.js';
import { auditFirst, type ChangeContext } from '../identity/agents.js';
import type { Database } from '../store/database.js';
import { createSecretRepository } from '../store/index.js';

/** Lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit; 1..63 characters. */
export const secretNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** The largest value, in UTF-8 bytes. */
export const MAX_SECRET_BYTES = 16 * 1024;

/** What anyone may see of a secret: never its value. */
export interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface SecretStore {
  /**
   * Creates or replaces `name`; audited first (action `secret.set`, never the value). Resolves to the
   * secret's info and whether it was created (false: replaced).
   */
  set(name: string, value: string, ctx: ChangeContext): Promise<SecretInfo & { created: boolean }>;
  /** Every secret, sorted by name; never values. */
  list(): Promise<SecretInfo[]>;
  /** WARDEN_NOT_FOUND when missing; audited first (`secret.delete`). */
  delete(name: string, ctx: ChangeContext): Promise<void>;
  /** Internal only (upstream injection): the plaintext. WARDEN_NOT_FOUND when missing. Never exposed over HTTP. */
  reveal(name: string): Promise<string>;
}

export interface SecretStoreOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  readonly audit: Pick<AuditLog, 'append'>;
}

// eslint-disable-next-line no-control-regex -- the point is to refuse NUL
const nul = /\u0000/;
/** A UTF-16 surrogate without its partner: it has no UTF-8 encoding and would be silently replaced. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function invalid(message: string, field: string): WardenError {
  return new WardenError('WARDEN_VALIDATION_FAILED', message, { details: { field } });
}

/** The name, or WARDEN_VALIDATION_FAILED. */
export function checkSecretName(name: unknown): string {
  if (typeof name !== 'string' || !secretNamePattern.test(name)) {
    throw invalid('a secret name is 1..63 lower-case letters, digits, ".", "_" and "-", starting with a letter or digit', 'name');
  }
  return name;
}

/** The value, or WARDEN_VALIDATION_FAILED; the message never quotes the value. */
export function checkSecretValue(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid('a secret value must be a non-empty string', 'value');
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) throw invalid(`a secret value is at most ${MAX_SECRET_BYTES} bytes of UTF-8`, 'value');
  if (nul.test(value)) throw invalid('a secret value must not contain NUL', 'value');
  if (loneSurrogate.test(value)) throw invalid('a secret value must be valid Unicode', 'value');
  return value;
}

function notFound(name: string): WardenError {
  return new WardenError('WARDEN_NOT_FOUND', `secret ${name} not found`, { details: { name } });
}

const contextOf = (name: string): BarrierContext => ({ table: 'secrets', column: 'value', row: name });

export function createSecretStore({ db, barrier, audit }: SecretStoreOptions): SecretStore {
  const repository = createSecretRepository(db);

  return {
    async set(name, value, ctx) {
      checkSecretName(name);
      checkSecretValue(value);
      const created = (await repository.find(name)) === undefined;
      await auditFirst(audit, ctx, {
        activityId: created ? 1 : 3,
        action: 'secret.set',
        resource: { type: 'secret', id: name },
        details: { created },
      });
      const plaintext = Buffer.from(value, 'utf8');
      try {
        await repository.put(name, barrier.encrypt(plaintext, contextOf(name)));
      } finally {
        plaintext.fill(0);
      }
      const record = await repository.get(name);
      return { name, createdAt: Number(record.createdAt), updatedAt: Number(record.updatedAt), created };
    },

    async list() {
      const rows = await db.selectFrom('secrets').select(['name', 'created_at', 'updated_at']).orderBy('name').execute();
      return rows.map((row) => ({ name: row.name, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) }));
    },

    async delete(name, ctx) {
      checkSecretName(name);
      if ((await repository.find(name)) === undefined) throw notFound(name);
      await auditFirst(audit, ctx, { activityId: 4, action: 'secret.delete', resource: { type: 'secret', id: name } });
      try {
        await repository.delete(name);
      } catch (err) {
        // Deleted by someone else between the check and now: the same answer as a missing secret.
        throw isWardenError(err, 'WARDEN_NOT_FOUND') ? notFound(name) : err;
      }
    },

    async reveal(name) {
      checkSecretName(name);
      const record = await repository.find(name);
      if (record === undefined) throw notFound(name);
      const plaintext = await barrier.decrypt(record.value, contextOf(name));
      try {
        return plaintext.toString('utf8');
      } finally {
        plaintext.fill(0);
      }
    },
  };
}
