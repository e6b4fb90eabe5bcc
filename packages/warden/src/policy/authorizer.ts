/**
 * The decision point. `authorize` resolves the entity slice (principal and resource through the
 * providers, plus caller-supplied entities that never override a provider's), evaluates with the
 * active policy set (or reuses a cached evaluation), and appends an `api_activity` audit entry naming
 * the decision id, effect, determining policies and set version before it returns. If the audit append
 * fails it throws WARDEN_AUDIT_UNAVAILABLE, so nothing is ever allowed without a durable record. An
 * unknown principal, a provider failure or a missing policy set denies.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import { createDecisionCache, decisionCacheKey } from './decision-cache.js';
import type { AuthorizationRequest, CedarEntity, CompiledPolicySet, EntityRef, Evaluation, PolicyEngine } from './engine.js';
import type { EntityProvider } from './entities.js';

export interface Decision extends Evaluation {
  decisionId: string;
  /** 0 when no policy set was active. */
  policySetVersion: number;
}
export type AuditActor = { type: 'agent' | 'admin' | 'operator' | 'system'; id: string };
export interface AuthorizeOptions {
  extraEntities?: CedarEntity[];
  source?: { ip?: string; requestId?: string };
  /** Defaults to the principal (`agent` for Warden::Agent, `admin` for Warden::Admin). */
  actor?: AuditActor;
}
export interface Authorizer {
  /** Resolves, evaluates, audits (durably, before returning) and caches one decision. */
  authorize(request: AuthorizationRequest, options?: AuthorizeOptions): Promise<Decision>;
  /** Drops cached decisions for an entity (all of them when none is given). */
  invalidate(entity?: EntityRef): void;
}
export interface AuthorizerOptions {
  engine: PolicyEngine;
  active: () => CompiledPolicySet | undefined;
  providers: EntityProvider[];
  audit: { append(event: AuditEvent): Promise<unknown> };
  /** Maximum cached evaluations (default 10,000; 0 disables the cache). */
  cacheSize?: number;
  /** How long a cached evaluation may be reused (default 60 s). */
  cacheTtlMs?: number;
  now?: () => number;
}

const refKey = (ref: EntityRef): string => `${ref.type}::${JSON.stringify(ref.id)}`;

function defaultActor(principal: EntityRef): AuditActor {
  if (principal.type === 'Warden::Agent') return { type: 'agent', id: principal.id };
  if (principal.type === 'Warden::Admin') return { type: 'admin', id: principal.id };
  return { type: 'system', id: refKey(principal) };
}

interface Slice {
  entities: CedarEntity[];
  versions: string[];
  errors: string[];
}

/** Creates the authorizer; providers are looked up by entity type. */
export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { engine, active, audit } = options;
  const now = options.now ?? Date.now;
  const cache = createDecisionCache({ maxEntries: options.cacheSize ?? 10_000, ttlMs: options.cacheTtlMs ?? 60_000, now });
  const providers = new Map(options.providers.map((p) => [p.type, p]));
  /** Per-entity invalidation generations, part of every key that involves the entity. */
  const generations = new Map<string, number>();

  async function resolve(request: AuthorizationRequest, extra: readonly CedarEntity[]): Promise<Slice> {
    const slice: Slice = { entities: [], versions: [], errors: [] };
    const seen = new Set<string>();
    const add = (entity: CedarEntity): void => {
      const key = refKey(entity.uid);
      if (seen.has(key)) return;
      seen.add(key);
      slice.entities.push(entity);
    };
    for (const [role, ref] of [['principal', request.principal], ['resource', request.resource]] as const) {
      slice.versions.push(`g${generations.get(refKey(ref)) ?? 0}`);
      const provider = providers.get(ref.type);
      if (!provider) continue;
      try {
        const found = await provider.get(ref.id);
        if (!found) {
          slice.errors.push(`${role} ${refKey(ref)} not found`);
          continue;
        }
        slice.versions.push(found.version);
        add(found.entity);
        found.ancestors.forEach(add);
      } catch (err) {
        slice.errors.push(`${role} ${refKey(ref)} could not be resolved: ${String(err)}`);
      }
    }
    // Caller-supplied entities fill gaps only; they can never replace what a provider resolved.
    extra.forEach(add);
    return slice;
  }

  async function decide(request: AuthorizationRequest, extra: readonly CedarEntity[]): Promise<{ evaluation: Evaluation; version: number }> {
    const set = active();
    if (!set) return { evaluation: { decision: 'deny', policies: [], errors: ['no policy set'] }, version: 0 };
    const slice = await resolve(request, extra);
    if (slice.errors.length > 0) return { evaluation: { decision: 'deny', policies: [], errors: slice.errors }, version: set.version };
    const key = decisionCacheKey({ setVersion: set.version, entityVersions: slice.versions, request, extraEntities: extra });
    const cached = cache.get(key);
    if (cached) return { evaluation: cached, version: set.version };
    const evaluation = engine.evaluate(set, request, slice.entities);
    cache.set(key, evaluation);
    return { evaluation, version: set.version };
  }

  return {
    async authorize(request, opts = {}) {
      const { evaluation, version } = await decide(request, opts.extraEntities ?? []);
      const decision: Decision = {
        decision: evaluation.decision,
        policies: [...evaluation.policies],
        errors: [...evaluation.errors],
        decisionId: randomUUID(),
        policySetVersion: version,
      };
      const event: AuditEvent = {
        class: 'api_activity',
        activityId: 99,
        action: request.action.id,
        actor: opts.actor ?? defaultActor(request.principal),
        resource: { type: request.resource.type, id: request.resource.id },
        decision: { id: decision.decisionId, effect: decision.decision, policyIds: decision.policies, policySetVersion: String(version) },
        outcome: decision.decision === 'allow' ? 'success' : 'failure',
      };
      if (opts.source) event.source = opts.source;
      if (decision.errors.length > 0) event.details = { errors: decision.errors };
      try {
        await audit.append(event);
      } catch (err) {
        throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'Could not record the authorization decision', { cause: err });
      }
      return decision;
    },
    invalidate(entity) {
      if (!entity) {
        cache.clear();
        return;
      }
      const key = refKey(entity);
      generations.set(key, (generations.get(key) ?? 0) + 1);
    },
  };
}
