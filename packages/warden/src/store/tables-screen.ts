/**
 * Row type of `screen_tokens` (migration 0013): one reversible screening token and the value it stands
 * for. `value` is barrier ciphertext (context `{ table: 'screen_tokens', column: 'value', row: token }`),
 * never plaintext; `key_name` is the KMS key that made the token.
 */
export interface ScreenTokensTable {
  token: string;
  type: string;
  value: Buffer;
  key_name: string;
  created_at: number;
}

export interface ScreenTables {
  screen_tokens: ScreenTokensTable;
}
