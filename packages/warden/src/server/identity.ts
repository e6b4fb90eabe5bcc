/**
 * Identity, composed for the server: the agent directory and credential store, the token service (the
 * OAuth 2.0 authorization server and the one token verifier), admins with their sessions and login
 * throttle, and the admin authentication hook every admin route uses — its decisions come from the
 * built-in Cedar policy set and are audited. Returns the route plugins and
 * a close function; knows nothing of HTTP beyond handing the plugins over.
 */
import type { FastifyPluginAsync } from 'fastify';
import { agentRoutes } from '../api/agents.js';
import { builtinAdminDecide, createAdminAuth, type AdminAuth } from '../api/admin-auth.js';
import { authRoutes } from '../api/auth.js';
import { oauthRoutes } from '../api/oauth.js';
import { whoamiRoutes } from '../api/whoami.js';
import type { Config } from '../config/index.js';
import { createAdminSessions, type AdminSessions } from '../identity/admin-sessions.js';
import { createAdminDirectory, type AdminDirectory } from '../identity/admins.js';
import { createAgentDirectory, type AgentDirectory } from '../identity/agents.js';
import { createCredentialStore, type CredentialStore } from '../identity/credentials.js';
import { createLoginThrottle } from '../identity/login-throttle.js';
import { openTokenService, type TokenService } from '../identity/token-service.js';
import type { Logger } from '../log/index.js';
import { createBuiltinAuthorizer, type BuiltinAuthorizer } from '../policy/builtin.js';
import { createPolicyEngine } from '../policy/engine.js';
import type { Runtime } from './runtime.js';

export interface Identity {
  readonly agents: AgentDirectory;
  readonly credentials: CredentialStore;
  readonly tokens: TokenService;
  readonly admins: AdminDirectory;
  readonly sessions: AdminSessions;
  readonly adminAuth: AdminAuth;
  /** The built-in (admin API) policy set and its audited decision point. */
  readonly builtin: BuiltinAuthorizer;
  /** Route plugins: OAuth endpoints and metadata, agents, admin login and management, whoami. */
  readonly routes: FastifyPluginAsync[];
  close(): void;
}

export interface OpenIdentityOptions {
  runtime: Pick<Runtime, 'store' | 'barrier' | 'audit'>;
  config: Pick<Config, 'identity'>;
  /** The issuer and external base URL (the configured issuer, or the listen address). */
  issuer: string;
  logger: Logger;
}

export async function openIdentity({ runtime, config, issuer, logger }: OpenIdentityOptions): Promise<Identity> {
  const { store, barrier, audit } = runtime;
  const db = store.db;
  const agents = createAgentDirectory({ db, audit });
  const credentials = createCredentialStore({ db, barrier, audit, directory: agents });
  const tokens = await openTokenService({
    db,
    barrier,
    audit,
    lookup: agents,
    credentials,
    config: { issuer, tokenTtl: config.identity.tokenTtl, resources: config.identity.resources },
    logger,
  });
  const admins = createAdminDirectory({ db, barrier, audit });
  const sessions = createAdminSessions({
    db,
    admins,
    throttle: createLoginThrottle({ db }),
    audit,
    sessionTtl: config.identity.adminSessionTtl,
  });
  // Every admin request is decided by the built-in Cedar set and audited (fail closed) before it runs.
  const builtin = createBuiltinAuthorizer({ engine: createPolicyEngine(), audit });
  const adminAuth = createAdminAuth(sessions, { decide: builtinAdminDecide(builtin) });
  const requireAdmin = adminAuth.requireAdmin.bind(adminAuth);
  return {
    agents,
    credentials,
    tokens,
    admins,
    sessions,
    adminAuth,
    builtin,
    routes: [
      oauthRoutes({ tokens }),
      agentRoutes({ directory: agents, credentials, requireAdmin }),
      authRoutes({ admins, sessions, requireAdmin }),
      whoamiRoutes({ sessions, verifier: tokens.verifier, resources: tokens.resources, baseUrl: issuer }),
    ],
    close: () => tokens.close(),
  };
}
