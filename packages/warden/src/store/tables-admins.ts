/** Row types of the tables for admins, sessions and login throttling (migration 0005). */
import type { Generated } from 'kysely';

/** An admin; `totp_secret` is barrier ciphertext (context row = username), `password_hash` is scrypt. */
export interface AdminsTable {
  username: string;
  role: string;
  /** `scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>`. */
  password_hash: string;
  totp_secret: Buffer;
  /** The last TOTP time step accepted; a code at or before it is refused. */
  totp_last_step: Generated<number>;
  status: string;
  created_at: number;
  updated_at: number;
}

/** A session (`kind` session) or automation token (`kind` token), stored only as SHA-256 of the bearer token. */
export interface AdminSessionsTable {
  id: string;
  token_hash: Buffer;
  username: string;
  role: string;
  kind: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** Failed-login counter for one key (`user:<name>` or `ip:<addr>`). */
export interface LoginThrottleTable {
  key: string;
  failures: number;
  locked_until: number;
  updated_at: number;
}

export interface AdminTables {
  admins: AdminsTable;
  admin_sessions: AdminSessionsTable;
  login_throttle: LoginThrottleTable;
}
