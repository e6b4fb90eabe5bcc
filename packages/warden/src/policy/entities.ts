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

/**
 * Resolves `Warden::Agent` entities (and their roles) from the agent directory. With `cacheTtlMs`, a
 * resolved agent is kept that long (a change on this node drops it at once through `onChange`; a change
 * made on another node is seen within the TTL, as with the other shared state nodes poll for).
 */
export function agentEntityProvider(lookup: AgentLookup, options: { cacheTtlMs?: number; now?: () => number } = {}): EntityProvider {
  const ttl = options.cacheTtlMs ?? 0;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; slice: Promise<EntitySlice | undefined> }>();
  if (ttl > 0) lookup.onChange((name) => cache.delete(name));
  const load = async (id: string): Promise<EntitySlice | undefined> => {
    const agent = await lookup.get(id);
    if (!agent) return undefined;
    const entity = agentEntity(agent);
    const digest = createHash('sha256').update(JSON.stringify(entity)).digest('base64url').slice(0, 16);
    const ancestors = entity.parents.map((uid): CedarEntity => ({ uid, attrs: {}, parents: [] }));
    return { entity, ancestors, version: `${agent.updatedAt}:${digest}` };
  };
  return {
    type: AGENT_TYPE,
    get(id) {
      if (ttl <= 0) return load(id);
      const hit = cache.get(id);
      if (hit !== undefined && now() - hit.at < ttl) return hit.slice;
      const slice = load(id);
      cache.set(id, { at: now(), slice });
      slice.catch(() => cache.delete(id));
      if (cache.size > 10_000) cache.delete(cache.keys().next().value as string);
      return slice;
    },
  };
}
