/**
 * The CLI's client for a running Warden server: GET/POST JSON or text with a timeout and an optional
 * CA for TLS. A problem+json answer becomes a WardenError with the server's code; no answer at all is
 * WARDEN_SERVER_UNREACHABLE. The address comes from `--url`, `WARDEN_ADDR`, or the data directory's
 * config, in that order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { configFileName, loadConfig, resolveDataDir } from '../config/index.js';
import { errorCatalog, type ErrorCode, WardenError } from '../errors/index.js';
import type { CliContext } from './context.js';

export interface ServerFlags {
  url?: string;
  dataDir?: string;
  ca?: string;
}

export interface WardenClient {
  readonly origin: string;
  getJson<T>(path: string): Promise<T>;
  getText(path: string): Promise<string>;
}

/** The base URL of the server the flags and environment name. */
export function serverUrl(flags: ServerFlags, ctx: CliContext): string {
  const explicit = flags.url ?? ctx.env.WARDEN_ADDR;
  if (explicit) return explicit;
  const dataDir = resolveDataDir({ flags, env: ctx.env, cwd: ctx.cwd });
  if (existsSync(join(dataDir, configFileName))) {
    const { listen } = loadConfig({ flags, env: ctx.env, cwd: ctx.cwd });
    const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
    return `${listen.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
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

  const get = (path: string): Promise<{ status: number; type: string; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const url = new URL(path, base);
      const unreachable = (cause?: unknown) =>
        reject(new WardenError('WARDEN_SERVER_UNREACHABLE', `no Warden server answered at ${base.origin}`, { cause }));
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(url, { method: 'GET', timeout: 10_000, ...(ca ? { ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
        res.on('error', unreachable);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', unreachable);
      req.end();
    });

  const checked = async (path: string) => {
    const res = await get(path);
    if (res.status >= 200 && res.status < 300) return res;
    if (res.type.startsWith('application/problem+json')) {
      const problem = JSON.parse(res.body.toString('utf8')) as { code?: string; detail?: string };
      const code = problem.code && problem.code in errorCatalog ? (problem.code as ErrorCode) : 'WARDEN_INTERNAL';
      throw new WardenError(code, problem.detail ?? `HTTP ${res.status}`);
    }
    throw new WardenError('WARDEN_SERVER_UNREACHABLE', `${base.origin} did not answer as a Warden server (HTTP ${res.status})`);
  };

  return {
    origin: base.origin,
    async getJson<T>(path: string) {
      const res = await checked(path);
      try {
        return JSON.parse(res.body.toString('utf8')) as T;
      } catch (cause) {
        throw new WardenError('WARDEN_SERVER_UNREACHABLE', `${base.origin} did not answer as a Warden server`, { cause });
      }
    },
    async getText(path: string) {
      return (await checked(path)).body.toString('utf8');
    },
  };
}
