/**
 * `warden login`, `warden logout` and `warden admin-tokens create`: an admin's session from the command
 * line. `login` asks the server for a session with username, password (prompted without echo, or read
 * from stdin with --password-stdin; never a flag) and a TOTP code, and saves it as the SavedSession file
 * (directory 0700, file 0600, written atomically) that every other admin command reuses. `logout`
 * revokes the saved session on the server and deletes the file. `admin-tokens create` issues a token for
 * automation, which needs a fresh TOTP code.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { WardenError, isWardenError } from '../../errors/index.js';
import { adminRoles } from '../../identity/admins.js';
import type { CliContext } from '../context.js';
import { createClient, savedSession, sessionFile, type SavedSession, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

export interface LoginCommandOptions {
  /** Reads all of stdin (for --password-stdin); defaults to process.stdin. */
  readonly readStdin?: () => Promise<string>;
}

interface LoginFlags extends ServerFlags {
  username?: string;
  passwordStdin?: boolean;
  totp?: string;
  json?: boolean;
}

const roles: readonly string[] = adminRoles;
const totpPattern = /^\d{6}$/;

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** The value of a flag, or the answer to a prompt; WARDEN_USAGE when neither is available. */
async function valueOrPrompt(ctx: CliContext, value: string | undefined, question: string, flag: string): Promise<string> {
  const answer = value ?? (await ctx.prompt(question));
  if (answer === undefined || answer.trim() === '') throw new WardenError('WARDEN_USAGE', `${flag} is required (no terminal to prompt on)`);
  return answer.trim();
}

function checkTotp(code: string): string {
  if (!totpPattern.test(code)) throw new WardenError('WARDEN_USAGE', 'the TOTP code must be 6 digits');
  return code;
}

/** Writes the session file atomically: directory 0700, file 0600. */
export async function writeSessionFile(env: CliContext['env'], session: SavedSession): Promise<string> {
  const file = sessionFile(env);
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return file;
}

const serverOptions = (command: Command) =>
  command
    .option('--url <url>', 'server URL (default from WARDEN_ADDR, the saved session or the data directory config)')
    .option('--data-dir <dir>', 'data directory whose config names the address')
    .option('--ca <file>', 'CA certificate to verify the server with (TLS)');

export function loginCommands(program: Command, ctx: CliContext, options: LoginCommandOptions = {}): void {
  const readStdin = options.readStdin ?? readProcessStdin;

  serverOptions(program.command('login').description('log in as an admin and save the session for later commands'))
    .option('--username <name>', 'admin username (prompted when missing)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--totp <code>', 'current TOTP code (prompted when missing)')
    .option('--json', 'print JSON')
    .action(async (flags: LoginFlags) => {
      const username = await valueOrPrompt(ctx, flags.username, 'Username: ', '--username');
      const password = flags.passwordStdin
        ? (await readStdin()).replace(/\r?\n$/, '')
        : await valueOrPrompt(ctx, undefined, 'Password: ', '--password-stdin');
      if (password === '') throw new WardenError('WARDEN_USAGE', 'the password on stdin is empty');
      const totp = checkTotp(await valueOrPrompt(ctx, flags.totp, 'TOTP code: ', '--totp'));
      const client = createClient(flags, ctx);
      const answer = await client.send<{ token: string; expiresAt: number; role: string }>('POST', '/v1/auth/login', { username, password, totp });
      const session: SavedSession = { url: client.origin, token: answer.token, expiresAt: answer.expiresAt, username, role: answer.role };
      const file = await writeSessionFile(ctx.env, session);
      printResult(ctx.io, flags.json === true, { url: session.url, username, role: session.role, expiresAt: session.expiresAt, file }, () => [
        `Logged in to ${session.url} as ${username} (${session.role}) until ${new Date(session.expiresAt).toISOString()}.`,
        `Session saved to ${file}.`,
      ]);
    });

  program
    .command('logout')
    .description('revoke the saved session on the server and delete it')
    .option('--ca <file>', 'CA certificate to verify the server with (TLS)')
    .action(async (flags: { ca?: string }) => {
      const session = savedSession(ctx.env);
      if (session) {
        // The saved session's own token, whatever WARDEN_TOKEN says: logout ends this session only.
        const client = createClient({ url: session.url, ...(flags.ca ? { ca: flags.ca } : {}) }, { ...ctx, env: { ...ctx.env, WARDEN_TOKEN: session.token } });
        try {
          await client.send('POST', '/v1/auth/logout');
        } catch (err) {
          if (!isWardenError(err, 'WARDEN_UNAUTHENTICATED')) throw err;
        }
      }
      await rm(sessionFile(ctx.env), { force: true });
      ctx.io.stdout(session ? `Logged out of ${session.url}.\n` : 'Not logged in.\n');
    });

  const tokens = program.command('admin-tokens').description('tokens for automation (need a fresh TOTP code)');
  serverOptions(tokens.command('create').description('create an admin token; prints it once'))
    .requiredOption('--role <role>', `role of the token (${roles.join(', ')}); at most your own`)
    .requiredOption('--ttl <duration>', 'lifetime, e.g. 24h or 7d (1m .. 90d)')
    .option('--totp <code>', 'a fresh TOTP code (prompted when missing)')
    .option('--json', 'print JSON')
    .action(async (flags: ServerFlags & { role: string; ttl: string; totp?: string; json?: boolean }) => {
      if (!roles.includes(flags.role)) throw new WardenError('WARDEN_USAGE', `--role must be one of ${roles.join(', ')}`);
      if (parseDuration(flags.ttl) === undefined) throw new WardenError('WARDEN_USAGE', '--ttl must be a duration such as 30m, 24h or 7d');
      const totp = checkTotp(await valueOrPrompt(ctx, flags.totp, 'TOTP code: ', '--totp'));
      const client = createClient(flags, ctx);
      const issued = await client.send<{ id: string; token: string; expiresAt: number; role: string }>('POST', '/v1/admin-tokens', {
        role: flags.role,
        ttl: flags.ttl,
        totp,
      });
      printResult(ctx.io, flags.json === true, issued, () => [
        `Admin token ${issued.id} (${issued.role}) until ${new Date(issued.expiresAt).toISOString()}; it is shown only now:`,
        issued.token,
      ]);
    });
}
