/**
 * Test harness for CLI commands against a listening server. `createCliRunner` runs a command group
 * in-process the way `runCli` does (commander's own errors exit 0 or 2, every other failure goes through
 * `reportFailure`), with a fresh program and context per call: captured stdout/stderr (and binary
 * stdout), WARDEN_TOKEN/HOME/XDG_CONFIG_HOME in the environment, scripted prompt answers and stdin.
 * `bearerRequireAdmin` and `bearerSessions` stand in for admin authentication: the bearer token names
 * the role (route tests use `fakeRequireAdmin` from `admin-auth.ts` instead, with an `x-test-role` header).
 */
import { Command, CommanderError } from 'commander';
import type { onRequestHookHandler } from 'fastify';
import { WardenError } from '../errors/index.js';
import type { AdminPrincipal, AdminRole } from '../identity/types.js';
import type { CliContext } from '../cli/context.js';
import { reportFailure } from '../cli/output.js';
import '../api/principal.js';

export interface BearerAdminOptions {
  /** Called first on every request the hook sees (to count what reached the server). */
  readonly onRequest?: () => void;
}

/** The admin a token stands for: `cli-user` in the token's role; unknown or missing tokens are 401. */
function principalOf(tokens: Readonly<Record<string, AdminRole>>, token: string | undefined): AdminPrincipal | WardenError {
  const role = token !== undefined && Object.hasOwn(tokens, token) ? tokens[token] : undefined;
  if (role === undefined) return new WardenError('WARDEN_UNAUTHENTICATED', 'admin authentication required');
  return { kind: 'admin', admin: 'cli-user', role, sessionId: 's', expiresAt: Date.now() + 60_000 };
}

/** A `requireAdmin(...roles)` for admin routes: `Authorization: Bearer <token>`, the role from `tokens`. */
export function bearerRequireAdmin(tokens: Readonly<Record<string, AdminRole>>, options: BearerAdminOptions = {}): (...roles: AdminRole[]) => onRequestHookHandler {
  return (...roles) =>
    (request, _reply, done) => {
      options.onRequest?.();
      const principal = principalOf(tokens, request.headers.authorization?.replace(/^Bearer /, ''));
      if (principal instanceof WardenError) return done(principal);
      if (!roles.includes(principal.role)) return done(new WardenError('WARDEN_FORBIDDEN', 'role not allowed'));
      request.principal = principal;
      done();
    };
}

/** Admin sessions for routes that take agents or admins (`sessions.authenticate`), the role from `tokens`. */
export function bearerSessions(tokens: Readonly<Record<string, AdminRole>>): { authenticate(token: string): Promise<AdminPrincipal> } {
  return {
    authenticate: (token) => {
      const principal = principalOf(tokens, token);
      return principal instanceof WardenError ? Promise.reject(principal) : Promise.resolve(principal);
    },
  };
}

/** What a command under test reads and writes instead of the process's standard streams. */
export interface CliStdio {
  /** The `stdin` given to `run` (empty when none); marks the result's `stdinRead`. */
  readonly readStdin: () => Promise<Buffer>;
  /** The same, as UTF-8 text. */
  readonly readStdinText: () => Promise<string>;
  /** Binary standard output, collected into the result's `bytes`. */
  readonly writeStdout: (bytes: Buffer) => void;
}

/** Registers the command groups under test on `program` (e.g. `keysCommand`, which takes `stdio` as its options). */
export type RegisterCommands = (program: Command, ctx: CliContext, stdio: CliStdio) => void;

export interface CliRunnerOptions {
  readonly register: RegisterCommands;
  /** Words put before every argv: `'keys'`, `['mcp', 'servers']`; none by default. */
  readonly group?: string | readonly string[];
  /** The server's address; none (no address given) by default. */
  readonly url?: string;
  /**
   * How `url` is passed: `'flag'` appends `--url <url>` unless argv has `--url` (the default), `'env'`
   * sets WARDEN_ADDR (for commands where `--url` means something else).
   */
  readonly urlVia?: 'flag' | 'env';
  /** HOME, XDG_CONFIG_HOME and the working directory. */
  readonly home: string;
  /** WARDEN_TOKEN unless a call names another; none by default. */
  readonly token?: string;
}

export interface CliRunOptions {
  readonly token?: string;
  /** Instead of the runner's group. */
  readonly group?: string | readonly string[];
  /** Instead of the runner's register. */
  readonly register?: RegisterCommands;
  readonly stdin?: string | Buffer;
  /**
   * Prompt answers: by question, or in order. Without them the prompt answers undefined, like the
   * terminal prompt when there is no terminal.
   */
  readonly answers?: Readonly<Record<string, string>> | readonly string[];
  /** Added to (and overriding) the environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface CliRunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** What the command wrote with `stdio.writeStdout`. */
  readonly bytes: Buffer;
  /** The prompt's questions, in order. */
  readonly asked: string[];
  readonly stdinRead: boolean;
}

export type CliRunner = (argv: readonly string[], options?: CliRunOptions) => Promise<CliRunResult>;

function words(group: string | readonly string[] | undefined): readonly string[] {
  return typeof group === 'string' ? [group] : (group ?? []);
}

function promptFor(answers: CliRunOptions['answers'], asked: string[]): CliContext['prompt'] {
  const queue = Array.isArray(answers) ? [...(answers as readonly string[])] : undefined;
  return (question) => {
    asked.push(question);
    if (answers === undefined) return Promise.resolve(undefined);
    return Promise.resolve(queue ? queue.shift() : (answers as Readonly<Record<string, string>>)[question]);
  };
}

/** A `run(argv, options?)` for one test file: each call builds a new program and context. */
export function createCliRunner(defaults: CliRunnerOptions): CliRunner {
  const { url, urlVia = 'flag', home } = defaults;
  return async (argv, options = {}) => {
    let stdout = '';
    let stderr = '';
    let stdinRead = false;
    const bytes: Buffer[] = [];
    const asked: string[] = [];
    const token = options.token ?? defaults.token;
    const ctx: CliContext = {
      io: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
      env: {
        ...(token !== undefined && { WARDEN_TOKEN: token }),
        ...(url !== undefined && urlVia === 'env' && { WARDEN_ADDR: url }),
        HOME: home,
        XDG_CONFIG_HOME: home,
        ...options.env,
      },
      prompt: promptFor(options.answers, asked),
      cwd: home,
    };
    const readStdin = () => {
      stdinRead = true;
      const stdin = options.stdin ?? '';
      // A copy each time: a command may wipe what it read.
      return Promise.resolve(typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : Buffer.from(stdin));
    };
    const stdio: CliStdio = {
      readStdin,
      readStdinText: async () => (await readStdin()).toString('utf8'),
      writeStdout: (b) => void bytes.push(b),
    };
    const program = new Command('warden')
      .exitOverride()
      .configureOutput({ writeOut: (t) => ctx.io.stdout(t), writeErr: (t) => ctx.io.stderr(t) });
    (options.register ?? defaults.register)(program, ctx, stdio);
    const urlFlag = url !== undefined && urlVia === 'flag' && !argv.includes('--url') ? ['--url', url] : [];
    let code = 0;
    try {
      await program.parseAsync([...words(options.group ?? defaults.group), ...argv, ...urlFlag], { from: 'user' });
    } catch (err) {
      code = err instanceof CommanderError ? (err.exitCode === 0 ? 0 : 2) : reportFailure(ctx.io, err);
    }
    return { code, stdout, stderr, bytes: Buffer.concat(bytes), asked, stdinRead };
  };
}
