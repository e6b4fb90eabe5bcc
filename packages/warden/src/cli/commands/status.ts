/**
 * `warden status`: ask a running server for its version, store and seal state. The address comes from
 * `--url`, `WARDEN_ADDR`, or the data directory's config, in that order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Command } from 'commander';
import { statusSchema, type Status } from '../../api/health.js';
import { configFileName, loadConfig, resolveDataDir } from '../../config/index.js';
import { WardenError } from '../../errors/index.js';
import type { CliContext } from '../context.js';
import { printResult } from '../output.js';

interface StatusFlags {
  url?: string;
  dataDir?: string;
  ca?: string;
  json?: boolean;
}

function serverUrl(flags: StatusFlags, ctx: CliContext): string {
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

/** GET a JSON document; WARDEN_SERVER_UNREACHABLE when there is no answer. */
function getJson(url: URL, ca: Buffer | undefined): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const unreachable = (cause?: unknown) =>
      reject(new WardenError('WARDEN_SERVER_UNREACHABLE', `no Warden server answered at ${url.origin}`, { cause }));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', timeout: 5000, headers: { accept: 'application/json' }, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (cause) {
          unreachable(cause);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', unreachable);
    req.end();
  });
}

export function statusCommand(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("show a running server's version, store and seal state")
    .option('--url <url>', 'server URL (default from WARDEN_ADDR or the data directory config)')
    .option('--data-dir <dir>', 'data directory whose config names the address')
    .option('--ca <file>', 'CA certificate to verify the server with (TLS)')
    .option('--json', 'print JSON')
    .action(async (flags: StatusFlags) => {
      let url: URL;
      try {
        url = new URL('/v1/status', serverUrl(flags, ctx));
      } catch {
        throw new WardenError('WARDEN_USAGE', `--url is not a URL: ${flags.url ?? ctx.env.WARDEN_ADDR ?? ''}`);
      }
      const ca = flags.ca ? readFileSync(flags.ca) : undefined;
      const { status, body } = await getJson(url, ca);
      const parsed = statusSchema.safeParse(body);
      if (status !== 200 || !parsed.success) {
        throw new WardenError('WARDEN_SERVER_UNREACHABLE', `${url.origin} did not answer as a Warden server (HTTP ${status})`);
      }
      const s: Status = parsed.data;
      printResult(ctx.io, flags.json === true, { url: url.origin, ...s }, () => [
        `Warden ${s.version} at ${url.origin}`,
        `store: ${s.store.kind} (${s.store.reachable ? 'reachable' : 'UNREACHABLE'})`,
        `seal:  ${s.seal.kind} (${s.seal.state})`,
      ]);
    });
}
