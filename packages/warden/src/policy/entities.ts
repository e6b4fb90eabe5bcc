/**
 * Entity slicing: each `EntityProvider` resolves one entity type to its Cedar entity, its ancestors and
 * a version string (which goes into the decision-cache key, so a changed entity never hits a stale
 * decision). The authorizer asks the providers for the request's principal and resource only — the
 * slice Cedar needs. `agentEntityProvider` maps directory agents to `Warden::Agent`: labels become
 * entity tags (String), roles become parents `Warden::Role::"<role>"`, and the version is `updatedAt`
 * plus a digest of the entity, so even two updates in the same millisecond change it.
 */
import { createHash } from 'node:crypto';
import type { Agent, AgentLookup } from '../identity/types.js';
import type { CedarEntity, EntityRef } from './engine.js';

export interface EntitySlice {
  entity: CedarEntity;
  ancestors: CedarEntity[];
  version: string;
}
export interface EntityProvider {
  /** Cedar entity type this provider resolves, e.g. `Warden::Agent`. */
  readonly type: string;
  get(id: string): Promise<EntitySlice | undefined>;
}

export const AGENT_TYPE = 'Warden::Agent';
export const ROLE_TYPE = 'Warden::Role';

/** The Cedar entity of an agent (riskScore is 0 until risk scoring lands). */
export function agentEntity(agent: Agent): CedarEntity {
  const attrs: Record<string, unknown> = {
    owner: agent.owner,
    clearance: agent.clearance,
    riskScore: 0,
    status: agent.status,
  };
  if (agent.region !== null) attrs['region'] = agent.region;
  if (agent.environment !== null) attrs['environment'] = agent.environment;
  return {
    uid: { type: AGENT_TYPE, id: agent.name },
    attrs,
    parents: agent.roles.map((role): EntityRef => ({ type: ROLE_TYPE, id: role })),
    tags: { ...agent.labels },
  };
}

/** Resolves `Warden::Agent` entities (and their roles) from the agent directory. */
export function agentEntityProvider(lookup: AgentLookup): EntityProvider {
  return {
    type: AGENT_TYPE,
    async get(id) {
      const agent = await lookup.get(id);
      if (!agent) return undefined;
      const entity = agentEntity(agent);
      const digest = createHash('sha256').update(JSON.stringify(entity)).digest('base64url').slice(0, 16);
      const ancestors = entity.parents.map((uid): CedarEntity => ({ uid, attrs: {}, parents: [] }));
      return { entity, ancestors, version: `${agent.updatedAt}:${digest}` };
    },
  };
}
