/**
 * The decision point. `authorize` resolves the entity slice (principal and resource through the
 * providers, plus caller-supplied entities that never override a provider's), evaluates with the
 * active policy set (or reuses a cached evaluation), and appends an `api_activity` audit entry naming
 * the decision id, effect, determining policies and set version before it returns. If the audit append
 * fails it throws WARDEN_AUDIT_UNAVAILABLE, so nothing is ever allowed without a durable record. A caller
 * that releases nothing before the entry is durable may ask for `record: 'deferred'` and await
 * `Decision.recorded` itself (the gateway does, for read-only tools: it forwards meanwhile). An
 * unknown principal, a provider failure or a missing policy set denies. The entry's `details.replay`
 * makes the decision replayable by the change gate (`dry-run.ts`): the request refs, the context without
 * its sensitive fields (tool `arguments` and KMS `encryptionContext` go through the event's `sensitive`
 * map, so the log keeps only their HMACs) and the caller-supplied entities. `dryRun` and `permissions`
 * expose the change gate and the access review over this authorizer's engine, providers and audit log.
 */
import { randomUUID } from 'node:crypto';
import { canonicalize, type AuditEvent, type AuditLog, type JsonValue } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import { createDecisionCache, decisionCacheKey } from './decision-cache.js';
import { dryRun, SENSITIVE_CONTEXT_FIELDS, type DryRunReport } from './dry-run.js';
import type { AuthorizationRequest, CedarEntity, CompiledPolicySet, EntityRef, Evaluation, PolicyEngine, PolicyFile } from './engine.js';
import type { EntityProvider } from './entities.js';
import { permissionsOf, recordedResources, type PermissionsReport } from './permissions.js';

export interface Decision extends Evaluation {
  decisionId: string;
  /** 0 when no policy set was active. */
  policySetVersion: number;
  /** The index of the decision's audit entry (when the log reports one), for `Warden-Audit-Index`. */
  auditIndex?: number;
  /**
   * With `record: 'deferred'`: settles once the decision's audit entry is durable, rejecting with
   * WARDEN_AUDIT_UNAVAILABLE when it cannot be written. Absent otherwise (the entry was durable before return).
   */
  recorded?: Promise<void>;
}
export type AuditActor = { type: 'agent' | 'admin' | 'operator' | 'system'; id: string };
export interface AuthorizeOptions {
  extraEntities?: CedarEntity[];
  source?: { ip?: string; requestId?: string };
  /** Defaults to the principal (`agent` for Warden::Agent, `admin` for Warden::Admin). */
  actor?: AuditActor;
  /**
   * `durable` (default): return only once the decision's audit entry is durable. `deferred`: return as soon
   * as the decision is made, its entry being written meanwhile (`Decision.recorded`); only for a caller
   * that releases nothing before `recorded` has resolved.
   */
  record?: 'durable' | 'deferred';
}
export interface Authorizer {
  /** Resolves, evaluates, audits (durably, before returning) and caches one decision. */
  authorize(request: AuthorizationRequest, options?: AuthorizeOptions): Promise<Decision>;
  /** Drops cached decisions for an entity (all of them when none is given). */
  invalidate(entity?: EntityRef): void;
  /** Replays the last `limit` audited decisions against `proposed` (needs a readable audit log). */
  dryRun(proposed: readonly PolicyFile[], options?: { limit?: number }): Promise<DryRunReport>;
  /**
   * What `agent` may do under the active set: to the `resources` given plus those recorded in the last
   * `recent` (default 1,000) audited decisions. WARDEN_NOT_FOUND for an unknown agent.
   */
  permissions(agent: string, options?: { resources?: CedarEntity[]; recent?: number }): Promise<PermissionsReport>;
}
export interface AuthorizerOptions {
  engine: PolicyEngine;
  active: () => CompiledPolicySet | undefined;
  providers: EntityProvider[];
  /** Reading (`size`, `entries`) is needed only by `dryRun` and `permissions`. */
  audit: { append(event: AuditEvent): Promise<unknown> } & Partial<Pick<AuditLog, 'size' | 'entries'>>;
  /** Maximum cached evaluations (default 10,000; 0 disables the cache). */
  cacheSize?: number;
  /** How long a cached evaluation may be reused (default 60 s). */
  cacheTtlMs?: number;
  now?: () => number;
}

const AGENT = 'Warden::Agent';
const refKey = (ref: EntityRef): string => `${ref.type}::${JSON.stringify(ref.id)}`;

function defaultActor(principal: EntityRef): AuditActor {
  if (principal.type === 'Warden::Agent') return { type: 'agent', id: principal.id };
  if (principal.type === 'Warden::Admin') return { type: 'admin', id: principal.id };
  return { type: 'system', id: refKey(principal) };
}

/** A JSON-safe copy (drops undefined, functions; throws on cycles). */
const jsonCopy = (value: unknown): JsonValue => JSON.parse(JSON.stringify(value ?? null)) as JsonValue;

interface ReplayRecord {
  replay: JsonValue;
  sensitive: Record<string, string>;
}
/**
 * A cached evaluation with the replay record of its request (`null`: the request cannot be serialized).
 * The record is a function of what the cache key digests (request and caller-supplied entities), so a
 * hit reuses it; it is deep-frozen because every audit event of that key shares it.
 */
interface CachedEvaluation extends Evaluation {
  record?: Readonly<ReplayRecord> | null;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** The replay record of a request, frozen, or null when it cannot be serialized. */
function frozenRecord(request: AuthorizationRequest, extra: readonly CedarEntity[]): Readonly<ReplayRecord> | null {
  try {
    return deepFreeze(replayRecord(request, extra));
  } catch {
    return null;
  }
}

/** The replay record and the sensitive values of a request (see the module comment). */
function replayRecord(request: AuthorizationRequest, extra: readonly CedarEntity[]): ReplayRecord {
  const context: Record<string, unknown> = { ...request.context };
  const sensitive: Record<string, string> = {};
  for (const field of SENSITIVE_CONTEXT_FIELDS) {
    if (!(field in context)) continue;
    if (context[field] !== undefined) sensitive[`context.${field}`] = canonicalize(jsonCopy(context[field]));
    delete context[field];
  }
  const ref = (r: EntityRef) => ({ type: r.type, id: r.id });
  const replay = { principal: ref(request.principal), action: ref(request.action), resource: ref(request.resource), context, ...(extra.length > 0 ? { entities: extra } : {}) };
  return { replay: jsonCopy(replay), sensitive };
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
  const cache = createDecisionCache<CachedEvaluation>({ maxEntries: options.cacheSize ?? 10_000, ttlMs: options.cacheTtlMs ?? 60_000, now });
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

  async function decide(request: AuthorizationRequest, extra: readonly CedarEntity[]): Promise<{ evaluation: CachedEvaluation; version: number }> {
    const set = active();
    if (!set) return { evaluation: { decision: 'deny', policies: [], errors: ['no policy set'] }, version: 0 };
    const slice = await resolve(request, extra);
    if (slice.errors.length > 0) return { evaluation: { decision: 'deny', policies: [], errors: slice.errors }, version: set.version };
    const key = decisionCacheKey({ setVersion: set.version, entityVersions: slice.versions, request, extraEntities: extra });
    const cached = cache.get(key);
    if (cached) return { evaluation: cached, version: set.version };
    const evaluation: CachedEvaluation = { ...engine.evaluate(set, request, slice.entities), record: frozenRecord(request, extra) };
    cache.set(key, evaluation);
    return { evaluation, version: set.version };
  }

  const readable = (): Pick<AuditLog, 'size' | 'entries'> => {
    const { size, entries } = audit;
    if (!size || !entries) throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'the audit log cannot be read here');
    return { size: size.bind(audit), entries: entries.bind(audit) };
  };

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
      const record = evaluation.record !== undefined ? evaluation.record : frozenRecord(request, opts.extraEntities ?? []);
      if (record !== null) {
        event.details = { replay: record.replay, ...(decision.errors.length > 0 ? { errors: decision.errors } : {}) };
        if (Object.keys(record.sensitive).length > 0) event.sensitive = record.sensitive;
      } else if (decision.errors.length > 0) {
        // A request that cannot be serialized is still recorded, just not replayable.
        event.details = { errors: decision.errors };
      }
      let appending: Promise<unknown>;
      try {
        appending = audit.append(event);
      } catch (err) {
        appending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      const recorded = appending.then(
        (appended) => {
          const index = (appended as { index?: unknown } | undefined)?.index;
          if (typeof index === 'number') decision.auditIndex = index;
        },
        (err: unknown) => {
          throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'Could not record the authorization decision', { cause: err });
        },
      );
      if (opts.record === 'deferred') {
        // Handled here so a caller that fails before awaiting it leaves no unhandled rejection; it still rejects for the caller.
        recorded.catch(() => undefined);
        decision.recorded = recorded;
        return decision;
      }
      await recorded;
      return decision;
    },
    dryRun(proposed, opts = {}) {
      return dryRun({ engine, audit: readable(), proposed, links: active()?.links ?? [], providers: options.providers, ...opts });
    },
    async permissions(agent, opts = {}) {
      const set = active();
      const provider = providers.get(AGENT);
      const slice = await provider?.get(agent);
      if (!slice) throw new WardenError('WARDEN_NOT_FOUND', `agent ${agent} not found`);
      const recent = opts.recent ?? 1000;
      const recorded = recent > 0 && audit.size && audit.entries ? await recordedResources(readable(), recent) : [];
      return permissionsOf({ engine, set, agent: slice, resources: [...(opts.resources ?? []), ...recorded] });
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
