/**
 * Authorization, composed for the server: the Cedar engine, the versioned policy store (refreshed
 * periodically so a set applied on another node becomes active here too), and the authorizer — the one
 * decision point — fed by the agent directory, whose changes invalidate cached decisions at once.
 */
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import { policyRoutes } from '../api/policies.js';
import type { AuditLog } from '../audit/index.js';
import type { AgentDirectory } from '../identity/agents.js';
import type { AdminRole } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import {
  AGENT_TYPE,
  agentEntityProvider,
  createAuthorizer,
  createPolicyEngine,
  createPolicyStore,
  type Authorizer,
  type EntityProvider,
  type PolicyStore,
} from '../policy/index.js';
import type { Store } from '../store/index.js';

export interface Policy {
  readonly store: PolicyStore;
  readonly authorizer: Authorizer;
  readonly routes: FastifyPluginAsync[];
  close(): void;
}

export interface OpenPolicyOptions {
  db: Store['db'];
  audit: AuditLog;
  agents: AgentDirectory;
  requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
  logger: Logger;
  /** Entity providers besides the agents' (e.g. the keyring's `Warden::Key`). */
  providers?: EntityProvider[];
  /** How often the active policy set is re-read (ms; 0: never). */
  refreshInterval?: number;
}

export async function openPolicy({ db, audit, agents, requireAdmin, logger, providers = [], refreshInterval = 2000 }: OpenPolicyOptions): Promise<Policy> {
  const engine = createPolicyEngine();
  const store = createPolicyStore({ db, engine, audit });
  await store.refresh();
  const authorizer = createAuthorizer({ engine, active: () => store.active(), providers: [agentEntityProvider(agents, { cacheTtlMs: 1000 }), ...providers], audit });
  const unsubscribe = agents.onChange((name) => authorizer.invalidate({ type: AGENT_TYPE, id: name }));
  const timer =
    refreshInterval > 0
      ? setInterval(() => {
          store.refresh().catch((err: unknown) => logger.warn({ err }, 'policy refresh failed'));
        }, refreshInterval).unref()
      : undefined;
  return {
    store,
    authorizer,
    routes: [policyRoutes({ store, authorizer, requireAdmin })],
    close() {
      if (timer) clearInterval(timer);
      unsubscribe();
    },
  };
}
