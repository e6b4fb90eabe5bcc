/**
 * A running Warden server: the runtime (seal, store, barrier, audit log), the audit sinks and retention,
 * and the HTTP server with its routes. Starting and stopping are audited; a server that cannot record its own start
 * does not start (fail closed). Closing stops the listener first (in-flight requests finish), records
 * the stop, stops retention and the sinks, then closes the audit log (final checkpoint), the store and
 * zeroes keys.
 */
import type { FastifyPluginAsync } from 'fastify';
import { bearerToken } from '../api/admin-auth.js';
import { requireAgent } from '../api/agent-auth.js';
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
import { openGateway, type Gateway } from './gateway.js';
import { openKms, type Kms } from './kms.js';
import { openPolicy, type Policy } from './policy.js';
import { openRuntime, type Runtime } from './runtime.js';

export interface WardenServer {
  readonly url: string;
  readonly http: HttpServer;
  readonly runtime: Runtime;
  readonly identity: Identity;
  readonly policy: Policy;
  readonly kms: Kms;
  readonly gateway: Gateway;
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
  const { logger } = options;
  const issuer = config.identity.issuer ?? listenUrl(listen);

  // Everything opened so far, closed in reverse order if a later step fails (or on close()).
  const opened: Array<() => unknown> = [];
  const unwind = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    const runtime = await openRuntime(config, options.secrets, logger);
    opened.push(() => runtime.close());
    const { audit } = runtime;
    const identity = await openIdentity({ runtime, config, issuer, logger });
    opened.push(() => identity.close());
    const requireAdmin = identity.adminAuth.requireAdmin.bind(identity.adminAuth);
    const kms = openKms({ runtime, config, secrets: options.secrets, logger });
    opened.push(() => kms.close());
    const policy = await openPolicy({ db: runtime.store.db, audit, agents: identity.agents, requireAdmin, logger, providers: [kms.entityProvider] });
    opened.push(() => policy.close());
    const kmsRoutes = kms.routes({
      authorizer: policy.authorizer,
      requireAdmin,
      sessions: identity.sessions,
      authenticateAgent: requireAgent({ verifier: identity.tokens.verifier, resource: `${issuer}/v1/keys`, baseUrl: issuer, audit }),
    });
    const tokenizer = kms.tokenizer;
    const gateway = openGateway({
      runtime,
      config,
      issuer,
      authorizer: policy.authorizer,
      activePolicies: () => policy.store.active(),
      verifier: identity.tokens.verifier,
      agents: identity.agents,
      requireAdmin,
      logger,
      ...(tokenizer ? { tokenize: (type: string, value: string) => tokenizer.tokenize(type, value) } : {}),
    });
    opened.push(() => gateway.close());
    const sinks = createSinkRunners(config.audit.sinks, {
      log: audit,
      cursors: createSinkCursorRepository(runtime.store.db),
      pollInterval: config.audit.sinkPollInterval,
      env: process.env,
      logger,
    });
    const retention: Retention | undefined = config.audit.retention
      ? createRetention({ log: audit, db: runtime.store.db, kind: runtime.store.kind, config: config.audit.retention, logger })
      : undefined;

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
        // Enforcement points (role pdp) see only the public part.
        return token !== undefined && identity.sessions.authenticate(token).then((admin) => admin.role !== 'pdp', () => false);
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
    const http = await startHttpServer({
      config,
      logger,
      routes: [
        healthRoutes(probe),
        auditRoutes({ log: audit, requireAdmin }),
        ...identity.routes,
        ...policy.routes,
        ...kmsRoutes,
        ...gateway.routes,
        ...(options.routes ?? []),
      ],
    });
    opened.push(() => http.close());
    // Fail closed: a server that cannot record its own start does not start.
    await audit.append(lifecycle('server.start', http.url));
    opened.pop(); // from here on, close() stops the listener first and records the stop
    sinks.start();
    retention?.start();
    kms.scheduler.start();
    logger.info({ url: http.url, store: runtime.store.kind, seal: runtime.seal.kind, version, sinks: config.audit.sinks.length }, 'warden is listening');
    return {
      url: http.url,
      http,
      runtime,
      identity,
      policy,
      kms,
      gateway,
      async close() {
        await http.close();
        try {
          await audit.append(lifecycle('server.stop', http.url));
        } catch (err) {
          logger.error({ err }, 'could not record the server stop in the audit log');
        }
        open = false;
        await retention?.stop();
        await sinks.stop();
        await unwind();
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
