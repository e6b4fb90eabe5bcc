/**
 * Admin sessions and admin tokens: opaque bearer tokens (`wdn_` + 32 random bytes, base64url) stored
 * only as their SHA-256. `login` checks the throttle, the password (same cost for unknown users) and a
 * fresh TOTP code, audits the outcome (failures with their reason, never the password) and issues a
 * session lasting the configured TTL. `authenticate` turns a bearer token into an AdminPrincipal or
 * refuses it generically (unknown, expired, revoked, admin disabled). `createAdminToken` issues a
 * longer-lived token for automation, only against a fresh TOTP code of its creator and never with a
 * role above the creator's.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import type { Database } from '../store/database.js';
import { roleWithin, type AdminDirectory } from './admins.js';
import type { LoginThrottle } from './login-throttle.js';
import type { AdminPrincipal, AdminRole } from './types.js';

export const ADMIN_TOKEN_PREFIX = 'wdn_';
const tokenPattern = /^wdn_[A-Za-z0-9_-]{43}$/;
export const MIN_TOKEN_TTL = 60_000;
export const MAX_TOKEN_TTL = 90 * 86_400_000;

export interface AdminSessionsOptions {
  readonly db: Kysely<Database>;
  readonly admins: Pick<AdminDirectory, 'verifyPassword' | 'consumeTotp' | 'get'>;
  readonly throttle: LoginThrottle;
  readonly audit: Pick<AuditLog, 'append'>;
  /** How long a login session lasts (config `identity.adminSessionTtl`), ms. */
  readonly sessionTtl: number;
  readonly now?: () => number;
}

export interface LoginInput {
  readonly username: string;
  readonly password: string;
  readonly totp: string;
  /** The caller's address (throttling and audit). */
  readonly ip?: string;
  readonly requestId?: string;
}

export interface IssuedToken {
  /** The bearer token; shown once, stored only as a hash. */
  readonly token: string;
  readonly id: string;
  readonly expiresAt: number;
  readonly role: AdminRole;
}

export interface AdminSessions {
  /** A new session, or WARDEN_LOGIN_FAILED (generic) / WARDEN_LOGIN_THROTTLED. */
  login(input: LoginInput): Promise<IssuedToken>;
  /** The principal of a valid bearer token; WARDEN_UNAUTHENTICATED otherwise. */
  authenticate(token: string): Promise<AdminPrincipal>;
  /** An automation token; needs a fresh TOTP code of `by` (WARDEN_FORBIDDEN otherwise) and `role` ≤ `by.role`. */
  createAdminToken(input: { by: AdminPrincipal; role: AdminRole; ttl: number; totp: string; ip?: string }): Promise<IssuedToken>;
  /** Revokes a session or token by id (own ones; any with role admin). WARDEN_NOT_FOUND when unknown. */
  revoke(id: string, by: AdminPrincipal): Promise<void>;
  /** Revokes the caller's own session. */
  logout(principal: AdminPrincipal): Promise<void>;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const unauthenticated = () => new WardenError('WARDEN_UNAUTHENTICATED', 'authentication required');
const loginFailed = () => new WardenError('WARDEN_LOGIN_FAILED', 'login failed: wrong username, password or TOTP code');
const limit = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);

export function createAdminSessions(options: AdminSessionsOptions): AdminSessions {
  const { db, admins, throttle, audit } = options;
  const now = options.now ?? Date.now;

  const issue = async (username: string, role: AdminRole, kind: 'session' | 'token', ttl: number): Promise<IssuedToken> => {
    const token = `${ADMIN_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const id = randomBytes(16).toString('hex');
    const at = now();
    const expiresAt = at + ttl;
    await db
      .insertInto('admin_sessions')
      .values({ id, token_hash: sha256(token), username, role, kind, created_at: at, expires_at: expiresAt, revoked_at: null })
      .execute();
    return { token, id, expiresAt, role };
  };

  const loginAudit = (input: LoginInput, outcome: 'success' | 'failure', details: Record<string, string>) =>
    audit.append({
      class: 'authentication',
      activityId: 1,
      action: 'admin.login',
      actor: { type: 'admin', id: limit(input.username, 128) },
      source: { ...(input.ip ? { ip: input.ip } : {}), ...(input.requestId ? { requestId: input.requestId } : {}) },
      outcome,
      details,
    });

  const refuse = async (input: LoginInput, reason: string): Promise<never> => {
    await throttle.fail(input.username, input.ip);
    await loginAudit(input, 'failure', { reason });
    throw loginFailed();
  };

  return {
    async login(input) {
      try {
        await throttle.check(input.username, input.ip);
      } catch (err) {
        await loginAudit(input, 'failure', { reason: 'throttled' });
        throw err;
      }
      const admin = await admins.verifyPassword(input.username, input.password);
      if (!admin) return refuse(input, (await admins.get(input.username)) ? 'bad_password' : 'unknown_user');
      if (admin.status !== 'active') return refuse(input, 'disabled');
      if (!(await admins.consumeTotp(admin.username, input.totp))) return refuse(input, 'bad_totp');
      await throttle.reset(input.username, input.ip);
      await loginAudit(input, 'success', { role: admin.role });
      return issue(admin.username, admin.role, 'session', options.sessionTtl);
    },

    async authenticate(token) {
      if (!tokenPattern.test(token)) throw unauthenticated();
      const hash = sha256(token);
      const row = await db
        .selectFrom('admin_sessions')
        .innerJoin('admins', 'admins.username', 'admin_sessions.username')
        .select([
          'admin_sessions.id',
          'admin_sessions.token_hash',
          'admin_sessions.username',
          'admin_sessions.role',
          'admin_sessions.expires_at',
          'admin_sessions.revoked_at',
          'admins.role as admin_role',
          'admins.status',
        ])
        .where('admin_sessions.token_hash', '=', hash)
        .executeTakeFirst();
      if (!row || !timingSafeEqual(row.token_hash, hash)) throw unauthenticated();
      const role = row.role as AdminRole;
      const expiresAt = Number(row.expires_at);
      if (row.revoked_at !== null || expiresAt <= now() || row.status !== 'active') throw unauthenticated();
      if (!roleWithin(role, row.admin_role as AdminRole)) throw unauthenticated();
      return { kind: 'admin', admin: row.username, role, sessionId: row.id, expiresAt };
    },

    async createAdminToken({ by, role, ttl, totp, ip }) {
      if (!roleWithin(role, by.role)) {
        throw new WardenError('WARDEN_FORBIDDEN', `a ${by.role} cannot create a token with role ${role}`);
      }
      if (!Number.isInteger(ttl) || ttl < MIN_TOKEN_TTL || ttl > MAX_TOKEN_TTL) {
        throw new WardenError('WARDEN_VALIDATION_FAILED', 'ttl must be between 1m and 90d');
      }
      const tokenEvent = (outcome: 'success' | 'failure', details: Record<string, string | number>) => ({
        class: 'entity_management' as const,
        activityId: 1 as const,
        action: 'admin_token.create',
        actor: { type: 'admin' as const, id: by.admin },
        ...(ip ? { source: { ip } } : {}),
        outcome,
        details,
      });
      await throttle.check(by.admin, ip);
      if (!(await admins.consumeTotp(by.admin, totp))) {
        await throttle.fail(by.admin, ip);
        await audit.append(tokenEvent('failure', { reason: 'bad_totp', role }));
        throw new WardenError('WARDEN_FORBIDDEN', 'creating an admin token needs a fresh TOTP code');
      }
      await throttle.reset(by.admin, ip);
      await audit.append(tokenEvent('success', { role, ttl }));
      return issue(by.admin, role, 'token', ttl);
    },

    async revoke(id, by) {
      const row = await db.selectFrom('admin_sessions').select(['username']).where('id', '=', id).executeTakeFirst();
      if (!row || (row.username !== by.admin && by.role !== 'admin')) throw new WardenError('WARDEN_NOT_FOUND', `no session ${id}`);
      await audit.append({
        class: 'entity_management',
        activityId: 4,
        action: 'admin_session.revoke',
        actor: { type: 'admin', id: by.admin },
        resource: { type: 'admin_session', id },
        outcome: 'success',
      });
      await db.updateTable('admin_sessions').set({ revoked_at: now() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },

    async logout(principal) {
      await audit.append({
        class: 'authentication',
        activityId: 2,
        action: 'admin.logout',
        actor: { type: 'admin', id: principal.admin },
        outcome: 'success',
      });
      await db
        .updateTable('admin_sessions')
        .set({ revoked_at: now() })
        .where('id', '=', principal.sessionId)
        .where('revoked_at', 'is', null)
        .execute();
    },
  };
}
