/**
 * A running Warden server: the runtime (seal, store, barrier) plus the HTTP server with its routes.
 * Closing it stops the listener first (in-flight requests finish), then closes the store and zeroes keys.
 */
import type { FastifyPluginAsync } from 'fastify';
import { healthRoutes, type HealthProbe } from '../api/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { SealSecrets } from '../seal/index.js';
import { version } from '../version.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { openRuntime, type Runtime } from './runtime.js';

export interface WardenServer {
  readonly url: string;
  readonly http: HttpServer;
  readonly runtime: Runtime;
  close(): Promise<void>;
}

export interface StartWardenOptions {
  config: Config;
  secrets: SealSecrets;
  logger: Logger;
  /** Extra route plugins (tests use this to exercise the boundary). */
  routes?: FastifyPluginAsync[];
}

export async function startWarden(options: StartWardenOptions): Promise<WardenServer> {
  const runtime = await openRuntime(options.config, options.secrets);
  let open = true;
  const probe: HealthProbe = {
    version,
    storeKind: runtime.store.kind,
    sealKind: runtime.seal.kind,
    storeReachable: () =>
      runtime.store.ping().then(
        () => true,
        () => false,
      ),
    unsealed: () => open,
  };
  let http: HttpServer;
  try {
    http = await startHttpServer({
      config: options.config,
      logger: options.logger,
      routes: [healthRoutes(probe), ...(options.routes ?? [])],
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  options.logger.info(
    { url: http.url, store: runtime.store.kind, seal: runtime.seal.kind, version },
    'warden is listening',
  );
  return {
    url: http.url,
    http,
    runtime,
    async close() {
      await http.close();
      open = false;
      await runtime.close();
    },
  };
}
