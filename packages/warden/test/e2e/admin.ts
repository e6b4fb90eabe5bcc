/**
 * Admin sessions in end-to-end tests: the first admin `warden init --json` printed, and a login that
 * computes its current TOTP code (a code is single-use, so log in once per admin and reuse the token).
 */
import { TOTP } from 'otpauth';
import { runWarden } from './process.js';

export interface FirstAdmin {
  username: string;
  password: string;
  totpSecret: string;
}

/** `warden init --data-dir dir --json`, returning the first admin. */
export async function initWithAdmin(dataDir: string, args: string[] = [], env: Record<string, string> = {}): Promise<FirstAdmin> {
  const run = await runWarden(['init', '--data-dir', dataDir, '--json', ...args], { env });
  if (run.code !== 0) throw new Error(`warden init failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { admin: FirstAdmin }).admin;
}

/**
 * The TOTP code of an admin: the current step, or a later one (`stepsAhead`; the server accepts one step
 * of drift). A step once used is refused, so a second code right after a login must come from the next step.
 */
export function totpCode(admin: Pick<FirstAdmin, 'totpSecret'>, stepsAhead = 0): string {
  return new TOTP({ secret: admin.totpSecret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: Date.now() + stepsAhead * 30_000,
  });
}

/** Log in over HTTP; resolves to the session token. */
export async function login(url: string, admin: FirstAdmin): Promise<string> {
  const res = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin.username, password: admin.password, totp: totpCode(admin) }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}
