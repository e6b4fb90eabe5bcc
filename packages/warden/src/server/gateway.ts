/**
 * The MCP gateway, composed for the server: secrets (stored through the barrier, revealed only to
 * upstream connections), the upstream registry, tool pins, the catalog (tools, prompts, resources) with shared or per-agent upstream connections, the
 * pipeline over the one authorizer and the audit log, and their routes — `/mcp` for agents (tokens for
 * `<issuer>/mcp`), `/v1/mcp/servers`, `/v1/mcp/tools` (pins) and `/v1/secrets` for admins.
 */
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import { requireAgent } from '../api/agent-auth.js';
import { mcpResourceMetadataUrl, mcpRoutes } from '../api/mcp.js';
import { secretRoutes } from '../api/secrets.js';
import { toolPinRoutes } from '../api/tool-pins.js';
import { upstreamRoutes } from '../api/upstreams.js';
import type { Config } from '../config/index.js';
import { approvalRoutes } from '../api/approvals.js';
import { createAgentRateLimits } from '../gateway/agent-rate-limits.js';
import { createApprovals } from '../gateway/approvals.js';
import { createCatalog, type Catalog } from '../gateway/catalog.js';
import { createToolPins } from '../gateway/tool-pins.js';
import { createPipeline } from '../gateway/pipeline.js';
import { createRateLimiter } from '../gateway/rate-limiter.js';
import { createUpstreamConnection } from '../gateway/upstream-connection.js';
import { createUpstreamRegistry, type UpstreamRegistry } from '../gateway/upstreams.js';
import type { AgentDirectory } from '../identity/agents.js';
import type { TokenVerifier } from '../identity/token-verifier.js';
import type { AdminRole } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import type { Authorizer, CompiledPolicySet } from '../policy/index.js';
import { createSecretStore, resolveSecretReferences } from '../secrets/index.js';
import { screenRoutes } from '../api/screen.js';
import type { Tokenize } from '../screen/actions.js';
import { createContentScreen } from '../screen/content.js';
import { createScreener } from '../screen/screener.js';
import type { Runtime } from './runtime.js';

/** A policy annotated `@approval("required")` holds the calls it permits for a human decision. */
export const APPROVAL_REQUIRED = /@approval\s*\(\s*"required"\s*\)/;

export interface Gateway {
  readonly catalog: Catalog;
  /** The upstream registry (the admin API's `/v1/mcp/servers`). */
  readonly registry: UpstreamRegistry;
  readonly routes: FastifyPluginAsync[];
  close(): Promise<void>;
}

export interface OpenGatewayOptions {
  runtime: Pick<Runtime, 'store' | 'barrier' | 'audit'>;
  config: Pick<Config, 'gateway' | 'screen'>;
  /** Makes `tokenize` tokens (present when `screen.tokenizationKey` is configured). */
  tokenize?: Tokenize;
  issuer: string;
  authorizer: Pick<Authorizer, 'authorize'>;
  /** The active operator policy set (for `@approval("required")` annotations). */
  activePolicies: () => CompiledPolicySet | undefined;
  verifier: Pick<TokenVerifier, 'verify'>;
  /** The agent directory: agents' own rate limits (over `config.gateway.rateLimits`). */
  agents: Pick<AgentDirectory, 'get' | 'onChange'>;
  requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
  logger: Logger;
}

export function openGateway({ runtime, config, issuer, authorizer, activePolicies, verifier, agents, requireAdmin, logger, tokenize }: OpenGatewayOptions): Gateway {
  const { store, barrier, audit } = runtime;
  const secrets = createSecretStore({ db: store.db, barrier, audit });
  const registry = createUpstreamRegistry({ db: store.db, audit });
  const resolve = (value: string) => resolveSecretReferences(value, (name) => secrets.reveal(name));
  // Tool definitions are screened as tool output when first seen (tool poisoning keeps a tool pending).
  const definitions = createScreener({ maxBytes: config.screen.maxBytes });
  const pins = createToolPins({ db: store.db, audit, inspect: (text) => definitions.scan(text, 'output') });
  const catalog = createCatalog({ upstreams: registry, pins, connect: (upstream) => createUpstreamConnection(upstream, { resolve, logger }), logger });
  const agentLimits = createAgentRateLimits({ agents });
  const screener = createScreener({ maxBytes: config.screen.maxBytes, toolNames: () => catalog.toolNames() });
  const screen = createContentScreen({ screener, actions: config.screen.actions, outputFilters: config.screen.outputFilters, ...(tokenize ? { tokenize } : {}) });
  const approvals = createApprovals({ db: store.db, audit, waitMs: config.gateway.approvalWait, ttlMs: config.gateway.approvalTtl });
  const pipeline = createPipeline({
    approvals: { store: approvals, needsApproval: (decision) => decision.policies.some((id) => APPROVAL_REQUIRED.test(activePolicies()?.policies.get(id) ?? '')) },
    catalog,
    ...(config.screen.gateway ? { screen } : {}),
    authorize: (request, options) => authorizer.authorize(request, options),
    audit,
    limiter: createRateLimiter(config.gateway.rateLimits, Date.now, agentLimits),
  });
  const mcpResource = `${issuer.replace(/\/+$/, '')}/mcp`;
  const authenticateAgent = requireAgent({ verifier, resource: mcpResource, baseUrl: issuer, audit, resourceMetadata: mcpResourceMetadataUrl(issuer) });
  return {
    catalog,
    registry,
    routes: [mcpRoutes({ pipeline, authenticateAgent, issuer }), upstreamRoutes({ registry, requireAdmin }), toolPinRoutes({ pins, requireAdmin }), approvalRoutes({ approvals, requireAdmin }), secretRoutes({ store: secrets, requireAdmin }), screenRoutes({ screener, actions: config.screen.actions, requireAdmin })],
    close: async () => {
      agentLimits.close();
      await catalog.close();
    },
  };
}
