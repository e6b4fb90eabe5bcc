/**
 * The CLI's client for a running Warden server: GET/POST JSON or text with a timeout and an optional
 * CA for TLS. A problem+json answer becomes a WardenError with the server's code; no answer at all is
 * WARDEN_SERVER_UNREACHABLE. The address comes from `--url`, `WARDEN_ADDR`, the session `warden login`
 * saved, or the data directory's config, in that order; the admin token from `WARDEN_TOKEN` or that
 * session.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { configFileName, loadConfig, resolveDataDir } from '../config/index.js';
import { errorCatalog, type ErrorCode, WardenError } from '../errors/index.js';
import { listenUrl } from '../server/listen.js';
import type { CliContext } from './context.js';

/** Adds the options that choose the server and how to trust it: `--url`, `--data-dir`, `--ca`. */
export function withServerOptions(command: Command): Command {
  return command
    .option('--url <url>', 'server URL (default from WARDEN_ADDR, the saved login session or the data directory config)')
    .option('--data-dir <dir>', 'data directory whose config names the address')
    .option('--ca <file>', 'CA certificate to verify the server with (TLS)');
}

export interface ServerFlags {
  url?: string;
  dataDir?: string;
  ca?: string;
}

export interface WardenClient {
  readonly origin: string;
  getJson<T>(path: string): Promise<T>;
  getText(path: string): Promise<string>;
  /** A JSON request (POST, PATCH, PUT, DELETE); resolves to the parsed answer (undefined for 204). */
  send<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** What `warden login` saves (mode 0600) and every admin command reuses. */
export interface SavedSession {
  url: string;
  token: string;
  expiresAt: number;
  username: string;
  role: string;
}

/** `$XDG_CONFIG_HOME/warden/session.json`, or `~/.config/warden/session.json`. */
export function sessionFile(env: CliContext['env']): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'warden', 'session.json');
}

/** The saved session, when there is one that has not expired. */
export function savedSession(env: CliContext['env']): SavedSession | undefined {
  try {
    const session = JSON.parse(readFileSync(sessionFile(env), 'utf8')) as SavedSession;
    return typeof session.token === 'string' && session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

/** The base URL of the server the flags and environment name. */
export function serverUrl(flags: ServerFlags, ctx: CliContext): string {
  const explicit = flags.url ?? ctx.env.WARDEN_ADDR ?? savedSession(ctx.env)?.url;
  if (explicit) return explicit;
  const dataDir = resolveDataDir({ flags, env: ctx.env, cwd: ctx.cwd });
  if (existsSync(join(dataDir, configFileName))) {
    return listenUrl(loadConfig({ flags, env: ctx.env, cwd: ctx.cwd }).listen);
  }
  return 'http://127.0.0.1:8470';
}

export function createClient(flags: ServerFlags, ctx: CliContext): WardenClient {
  let base: URL;
  try {
    base = new URL(serverUrl(flags, ctx));
  } catch {
    throw new WardenError('WARDEN_USAGE', `not a URL: ${flags.url ?? ctx.env.WARDEN_ADDR ?? ''}`);
  }
  const ca = flags.ca ? readFileSync(flags.ca) : undefined;
  const token = ctx.env.WARDEN_TOKEN || savedSession(ctx.env)?.token;

  const call = (method: string, path: string, payload?: Buffer): Promise<{ status: number; type: string; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const url = new URL(path, base);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (payload) headers['content-type'] = 'application/json';
      const unreachable = (cause?: unknown) =>
        reject(new WardenError('WARDEN_SERVER_UNREACHABLE', `no Warden server answered at ${base.origin}`, { cause }));
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(url, { method, headers, timeout: 10_000, ...(ca ? { ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
        res.on('error', unreachable);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', unreachable);
      req.end(payload);
    });

  const checked = async (method: string, path: string, payload?: Buffer) => {
    const res = await call(method, path, payload);
    if (res.status >= 200 && res.status < 300) return res;
    if (res.type.startsWith('application/problem+json')) {
      const problem = JSON.parse(res.body.toString('utf8')) as { code?: string; detail?: string; errors?: unknown[] };
      const code = problem.code && problem.code in errorCatalog ? (problem.code as ErrorCode) : 'WARDEN_INTERNAL';
      // The problem's `errors` (e.g. policy diagnostics) stay available to the command.
      throw new WardenError(code, problem.detail ?? `HTTP ${res.status}`, Array.isArray(problem.errors) ? { details: { errors: problem.errors } } : undefined);
    }
    throw new WardenError('WARDEN_SERVER_UNREACHABLE', `${base.origin} did not answer as a Warden server (HTTP ${res.status})`);
  };

  const parseJson = <T>(body: Buffer): T => {
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (cause) {
      throw new WardenError('WARDEN_SERVER_UNREACHABLE', `${base.origin} did not answer as a Warden server`, { cause });
    }
  };

  return {
    origin: base.origin,
    async getJson<T>(path: string) {
      return parseJson<T>((await checked('GET', path)).body);
    },
    async getText(path: string) {
      return (await checked('GET', path)).body.toString('utf8');
    },
    async send<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown) {
      const res = await checked(method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
      return (res.status === 204 || res.body.length === 0 ? undefined : parseJson<T>(res.body)) as T;
    },
  };
}
