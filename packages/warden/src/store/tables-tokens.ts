/** Row types of the tables for token signing keys, revoked tokens and replay guards (migration 0004). */

/** An access-token signing key; `private_key` is barrier ciphertext (PKCS#8 DER), `public_jwk` JSON. */
export interface TokenSigningKeysTable {
  kid: string;
  private_key: Buffer;
  public_jwk: string;
  created_at: number;
  /** When a newer key replaced it; NULL for the current key. */
  retired_at: number | null;
}

/** A revoked access token, kept until the token would have expired. */
export interface TokenRevocationsTable {
  jti: string;
  expires_at: number;
  revoked_at: number;
}

/** A used single-use id (scope `assertion` or `dpop`), kept until it could no longer be accepted. */
export interface TokenReplayGuardsTable {
  scope: string;
  jti: string;
  expires_at: number;
}

export interface TokenTables {
  token_signing_keys: TokenSigningKeysTable;
  token_revocations: TokenRevocationsTable;
  token_replay_guards: TokenReplayGuardsTable;
}
