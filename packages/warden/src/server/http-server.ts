/**
 * The listening HTTP(S) server: builds the app, listens on the configured address, and shuts down
 * gracefully — stop accepting, let in-flight requests finish within the configured bound, then cut the
 * remaining connections.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { buildApp } from '../api/index.js';
import type { Config } from '../config/index.js';
import { WardenError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { httpsOptions } from './tls.js';

export interface HttpServer {
  readonly app: FastifyInstance;
  /** The base URL the server listens on (with the real port when 0 was asked for). */
  readonly url: string;
  /** Graceful shutdown; resolves when every connection is closed. */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  config: Pick<Config, 'listen' | 'limits' | 'shutdown'>;
  logger: Logger;
  routes: FastifyPluginAsync[];
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { listen, limits, shutdown } = options.config;
  const app = await buildApp({
    logger: options.logger,
    bodyLimit: limits.bodyBytes,
    routes: options.routes,
    ...(listen.tls ? { https: httpsOptions(listen.tls) } : {}),
  });
  try {
    await app.listen({ host: listen.host, port: listen.port });
  } catch (cause) {
    await app.close();
    throw new WardenError('WARDEN_CONFIG_INVALID', `cannot listen on ${listen.host}:${listen.port}`, { cause });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const url = `${listen.tls ? 'https' : 'http'}://${host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Keep-alive connections busy when closing began are closed as soon as their response is sent;
      // whatever is still running when the bound expires is cut.
      const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
      const timer = setTimeout(() => {
        options.logger.warn({ timeoutMs: shutdown.timeout }, 'shutdown timeout: closing remaining connections');
        app.server.closeAllConnections();
      }, shutdown.timeout);
      try {
        await app.close();
      } finally {
        clearInterval(reaper);
        clearTimeout(timer);
      }
    })();
    return closing;
  };
  return { app, url, close };
}
