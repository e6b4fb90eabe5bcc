/**
 * A running Warden server: the runtime (seal, store, barrier, audit log), the audit sinks and retention,
 * and the HTTP server with its routes. Starting and stopping are audited; a server that cannot record its own start
 * does not start (fail closed). Closing stops the listener first (in-flight requests finish), records
 * the stop, stops retention and the sinks, then closes the audit log (final checkpoint), the store and
 * zeroes keys.
 */
import type { FastifyPluginAsync } from 'fastify';
import { bearerToken } from '../api/admin-auth.js';
import { auditRoutes, healthRoutes, type HealthProbe } from '../api/index.js';
import { createRetention, type AuditEvent, type Retention } from '../audit/index.js';
import { createSinkCursorRepository, createSinkRunners } from '../audit/sinks/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { SealSecrets } from '../seal/index.js';
import { version } from '../version.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { openIdentity, type Identity } from './identity.js';
import { listenUrl, resolvePort } from './listen.js';
import { openRuntime, type Runtime } from './runtime.js';

export interface WardenServer {
  readonly url: string;
  readonly http: HttpServer;
  readonly runtime: Runtime;
  readonly identity: Identity;
  close(): Promise<void>;
}

export interface StartWardenOptions {
  config: Config;
  secrets: SealSecrets;
  logger: Logger;
  /** Extra route plugins (tests use this to exercise the boundary). */
  routes?: FastifyPluginAsync[];
}

const lifecycle = (action: 'server.start' | 'server.stop', url: string): AuditEvent => ({
  class: 'entity_management',
  activityId: 99,
  action,
  actor: { type: 'system', id: 'warden' },
  resource: { type: 'server', id: url },
  outcome: 'success',
  details: { version, pid: process.pid },
});

export async function startWarden(options: StartWardenOptions): Promise<WardenServer> {
  // The issuer URL must be exact, so an ephemeral port (0) is chosen before anything is built.
  const listen = { ...options.config.listen, port: await resolvePort(options.config.listen) };
  const config = { ...options.config, listen };
  const issuer = config.identity.issuer ?? listenUrl(listen);
  const runtime = await openRuntime(config, options.secrets, options.logger);
  const { audit } = runtime;
  let identity: Identity;
  try {
    identity = await openIdentity({ runtime, config, issuer, logger: options.logger });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  let sinks: ReturnType<typeof createSinkRunners>;
  const retentionConfig = options.config.audit.retention;
  const retention: Retention | undefined = retentionConfig
    ? createRetention({ log: audit, db: runtime.store.db, kind: runtime.store.kind, config: retentionConfig, logger: options.logger })
    : undefined;
  try {
    sinks = createSinkRunners(options.config.audit.sinks, {
      log: audit,
      cursors: createSinkCursorRepository(runtime.store.db),
      pollInterval: options.config.audit.sinkPollInterval,
      env: process.env,
      logger: options.logger,
    });
  } catch (err) {
    identity.close();
    await runtime.close();
    throw err;
  }
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
    auditHealthy: () => audit.healthy(),
    isAdmin: async (request) => {
      const token = bearerToken(request);
      return token !== undefined && identity.sessions.authenticate(token).then(() => true, () => false);
    },
    auditStatus: async () => ({
      healthy: audit.healthy(),
      size: await audit.size(),
      checkpointSize: (await audit.latestCheckpoint())?.size ?? 0,
      sinks: (await sinks.lag()).map(({ name, nextIndex, lag, lastError }) => ({
        name,
        nextIndex,
        lag,
        ...(lastError ? { lastError } : {}),
      })),
    }),
  };
  let http: HttpServer;
  try {
    http = await startHttpServer({
      config,
      logger: options.logger,
      routes: [
        healthRoutes(probe),
        auditRoutes({ log: audit, requireAdmin: identity.adminAuth.requireAdmin.bind(identity.adminAuth) }),
        ...identity.routes,
        ...(options.routes ?? []),
      ],
    });
    await audit.append(lifecycle('server.start', http.url)).catch(async (err: unknown) => {
      await http.close();
      throw err;
    });
  } catch (err) {
    identity.close();
    await runtime.close();
    throw err;
  }
  sinks.start();
  retention?.start();
  options.logger.info(
    { url: http.url, store: runtime.store.kind, seal: runtime.seal.kind, version, sinks: options.config.audit.sinks.length },
    'warden is listening',
  );
  return {
    url: http.url,
    http,
    runtime,
    identity,
    async close() {
      await http.close();
      try {
        await audit.append(lifecycle('server.stop', http.url));
      } catch (err) {
        options.logger.error({ err }, 'could not record the server stop in the audit log');
      }
      open = false;
      await retention?.stop();
      await sinks.stop();
      identity.close();
      await runtime.close();
    },
  };
}
