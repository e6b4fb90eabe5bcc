/**
 * The admin directory: the humans (and automation) who administer Warden. It owns the `admins` table —
 * scrypt password hashes (per-user salt, parameters stored with the hash), barrier-encrypted TOTP
 * secrets and the last accepted TOTP step — and creates admins with a generated password and TOTP
 * secret returned exactly once. It verifies passwords in constant time (an unknown username costs the
 * same scrypt as a known one) and consumes TOTP codes with a compare-and-set on `totp_last_step`, so a
 * code is accepted once even across concurrent logins on several nodes. Changes are audited before
 * they are made.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Barrier } from '../barrier/index.js';
import { WardenError } from '../errors/index.js';
import type { Database } from '../store/database.js';
import { isUniqueViolation } from '../store/store-errors.js';
import { generateTotpSecret, matchTotpStep, totpBase32, totpUri } from './totp.js';
import type { AdminPrincipal, AdminRole } from './types.js';

export const adminRoles: readonly AdminRole[] = ['admin', 'security', 'auditor', 'pdp'];
/**
 * The roles each role grants no more than (a partial order: auditor < security < admin, and pdp <
 * security < admin). pdp is not below auditor: it may call `POST /v1/authorize`, which an auditor may not,
 * so an auditor must not mint pdp tokens.
 */
const roleCovers: Readonly<Record<AdminRole, readonly AdminRole[]>> = {
  admin: ['admin', 'security', 'auditor', 'pdp'],
  security: ['security', 'auditor', 'pdp'],
  auditor: ['auditor'],
  pdp: ['pdp'],
};

/** True when `role` grants no more than `limit` (auditor < security < admin; pdp < security). */
export function roleWithin(role: AdminRole, limit: AdminRole): boolean {
  return roleCovers[limit]?.includes(role) ?? false;
}

export const usernamePattern = /^[a-z][a-z0-9-]{0,62}$/;
export type AdminStatus = 'active' | 'disabled';

export interface Admin {
  readonly username: string;
  readonly role: AdminRole;
  readonly status: AdminStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What `create` and `bootstrap` return, once: the generated password and TOTP secret. */
export interface NewAdmin {
  readonly username: string;
  readonly role: AdminRole;
  readonly password: string;
  /** Base32 TOTP secret for manual entry. */
  readonly totpSecret: string;
  /** `otpauth://totp/…` URI with issuer "Warden" (for a QR code). */
  readonly totpUri: string;
}

/** scrypt cost: N = 2^log2N. Production uses 2^15; tests may pass a lower cost. */
export interface ScryptCost {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}
export const defaultScryptCost: ScryptCost = Object.freeze({ log2N: 15, r: 8, p: 1 });

export interface AdminDirectoryOptions {
  readonly db: Kysely<Database>;
  readonly barrier: Pick<Barrier, 'encrypt' | 'decrypt'>;
  readonly audit: Pick<AuditLog, 'append'>;
  readonly scryptCost?: ScryptCost;
  readonly now?: () => number;
}

export interface AdminDirectory {
  /** Creates an active admin with a generated password and TOTP secret (WARDEN_CONFLICT if it exists). */
  create(input: { username: string; role: AdminRole }, by?: AdminPrincipal): Promise<NewAdmin>;
  /** Creates `admin` (role admin) when there is no admin at all; undefined otherwise. */
  bootstrap(): Promise<NewAdmin | undefined>;
  list(): Promise<Admin[]>;
  get(username: string): Promise<Admin | undefined>;
  disable(username: string, by?: AdminPrincipal): Promise<Admin>;
  enable(username: string, by?: AdminPrincipal): Promise<Admin>;
  /** The admin when `password` is theirs (any status); undefined otherwise. Same scrypt cost either way. */
  verifyPassword(username: string, password: string): Promise<Admin | undefined>;
  /**
   * True when `code` is a valid TOTP code of `username` within ±1 step whose step is later than the
   * last accepted one; records the step atomically, so the same code is never accepted twice.
   */
  consumeTotp(username: string, code: string): Promise<boolean>;
}

const HASH_BYTES = 32;
const SALT_BYTES = 16;

function scryptAsync(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, HASH_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$<log2N>$<r>$<p>$<salt>$<hash>` (base64url) for `password` under a new random salt. */
export async function hashPassword(password: string, cost: ScryptCost = defaultScryptCost): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, cost);
  return ['scrypt', cost.log2N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** True when `password` matches `stored` (constant-time comparison; false for a malformed hash). */
export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  const [kind, log2N, r, p, salt, hash] = parts;
  if (parts.length !== 6 || kind !== 'scrypt' || !salt || !hash) return false;
  const cost = { log2N: Number(log2N), r: Number(r), p: Number(p) };
  if (![cost.log2N, cost.r, cost.p].every((n) => Number.isInteger(n) && n > 0 && n <= 32)) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), cost);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const context = (username: string) => ({ table: 'admins', column: 'totp_secret', row: username });

interface AdminRow {
  username: string;
  role: string;
  status: string;
  created_at: number;
  updated_at: number;
}
const toAdmin = (row: AdminRow): Admin => ({
  username: row.username,
  role: row.role as AdminRole,
  status: row.status as AdminStatus,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});
const publicColumns = ['username', 'role', 'status', 'created_at', 'updated_at'] as const;

export function createAdminDirectory(options: AdminDirectoryOptions): AdminDirectory {
  const { db, barrier, audit } = options;
  const cost = options.scryptCost ?? defaultScryptCost;
  const now = options.now ?? Date.now;
  // A hash of a random password under this directory's cost: unknown usernames are checked against it,
  // so they take the same time as a wrong password.
  let decoy: Promise<string> | undefined;
  const decoyHash = () => (decoy ??= hashPassword(randomBytes(18).toString('base64url'), cost));

  const get = async (username: string): Promise<Admin | undefined> => {
    const row = await db.selectFrom('admins').select(publicColumns).where('username', '=', username).executeTakeFirst();
    return row ? toAdmin(row) : undefined;
  };

  const insert = async (username: string, role: AdminRole, by: AdminPrincipal | undefined): Promise<NewAdmin> => {
    if (!usernamePattern.test(username)) {
      throw new WardenError('WARDEN_VALIDATION_FAILED', 'username must be a lowercase slug (a-z, 0-9, -), at most 63 characters');
    }
    if (!adminRoles.includes(role)) throw new WardenError('WARDEN_VALIDATION_FAILED', `unknown role ${String(role)}`);
    if (await get(username)) throw new WardenError('WARDEN_CONFLICT', `admin ${username} already exists`);
    const password = randomBytes(18).toString('base64url');
    const secret = generateTotpSecret();
    const passwordHash = await hashPassword(password, cost);
    await audit.append({
      class: 'entity_management',
      activityId: 1,
      action: 'admin.create',
      actor: by ? { type: 'admin', id: by.admin } : { type: 'system', id: 'bootstrap' },
      resource: { type: 'admin', id: username },
      outcome: 'success',
      details: { role },
    });
    const at = now();
    try {
      await db
        .insertInto('admins')
        .values({
          username,
          role,
          password_hash: passwordHash,
          totp_secret: barrier.encrypt(secret, context(username)),
          totp_last_step: 0,
          status: 'active',
          created_at: at,
          updated_at: at,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new WardenError('WARDEN_CONFLICT', `admin ${username} already exists`, { cause: err });
      throw err;
    }
    const result = { username, role, password, totpSecret: totpBase32(secret), totpUri: totpUri(secret, username) };
    secret.fill(0);
    return result;
  };

  const setStatus = async (username: string, status: AdminStatus, by: AdminPrincipal | undefined): Promise<Admin> => {
    if (!(await get(username))) throw new WardenError('WARDEN_NOT_FOUND', `no admin ${username}`);
    await audit.append({
      class: 'entity_management',
      activityId: 3,
      action: status === 'disabled' ? 'admin.disable' : 'admin.enable',
      actor: by ? { type: 'admin', id: by.admin } : { type: 'operator', id: 'local' },
      resource: { type: 'admin', id: username },
      outcome: 'success',
    });
    const at = now();
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('admins').set({ status, updated_at: at }).where('username', '=', username).execute();
      // Disabling ends every session and token for good: enabling again does not revive them.
      if (status === 'disabled') {
        await trx.updateTable('admin_sessions').set({ revoked_at: at }).where('username', '=', username).where('revoked_at', 'is', null).execute();
      }
    });
    const admin = await get(username);
    if (!admin) throw new WardenError('WARDEN_NOT_FOUND', `no admin ${username}`);
    return admin;
  };

  return {
    create: ({ username, role }, by) => insert(username, role, by),
    async bootstrap() {
      const any = await db.selectFrom('admins').select('username').limit(1).executeTakeFirst();
      if (any) return undefined;
      try {
        return await insert('admin', 'admin', undefined);
      } catch (err) {
        // Another node bootstrapped at the same time: there is an admin now, which is all we wanted.
        if (err instanceof WardenError && err.code === 'WARDEN_CONFLICT') return undefined;
        throw err;
      }
    },
    async list() {
      const rows = await db.selectFrom('admins').select(publicColumns).orderBy('username').execute();
      return rows.map(toAdmin);
    },
    get,
    disable: (username, by) => setStatus(username, 'disabled', by),
    enable: (username, by) => setStatus(username, 'active', by),
    async verifyPassword(username, password) {
      const row = await db
        .selectFrom('admins')
        .select([...publicColumns, 'password_hash'])
        .where('username', '=', username)
        .executeTakeFirst();
      const ok = await verifyPasswordHash(password, row?.password_hash ?? (await decoyHash()));
      return row && ok ? toAdmin(row) : undefined;
    },
    async consumeTotp(username, code) {
      const row = await db
        .selectFrom('admins')
        .select(['totp_secret', 'totp_last_step'])
        .where('username', '=', username)
        .executeTakeFirst();
      if (!row) return false;
      const secret = await barrier.decrypt(row.totp_secret, context(username));
      const step = matchTotpStep(secret, code, now());
      secret.fill(0);
      if (step === undefined || step <= Number(row.totp_last_step)) return false;
      // Compare-and-set: only one caller can move the last step past this one.
      const result = await db
        .updateTable('admins')
        .set({ totp_last_step: step })
        .where('username', '=', username)
        .where('totp_last_step', '<', step)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
