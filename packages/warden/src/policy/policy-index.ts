/**
 * A scope index over a compiled policy set. A Cedar policy whose scope (principal / action / resource
 * constraints) does not match a request never applies: its condition is not evaluated, so it can neither
 * allow, forbid nor error. Evaluating only the policies whose scope can match therefore yields the same
 * decision, determining policies and errors as evaluating the whole set, at a fraction of the cost.
 *
 * Scopes are read from Cedar's own JSON form of each policy (templates with their slots filled by the
 * link). `in E` is decided from the entity slice passed with the request (the only place Cedar takes
 * principal/resource ancestors from); action `in` also honours action groups declared in the schema.
 * Anything the index does not understand makes `indexPolicySet` return undefined and the caller
 * evaluates the full set.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarEntity, EntityRef, PolicyLink } from './engine.js';

type Scope =
  | { op: 'All' }
  | { op: '=='; entity: EntityRef }
  | { op: 'in'; entity: EntityRef }
  | { op: 'is'; type: string; in?: EntityRef };
type ActionScope = { op: 'All' } | { op: '=='; entity: EntityRef } | { op: 'in'; entities: EntityRef[] };

export interface IndexedPolicy {
  /** The policy id (the link id for linked templates). */
  id: string;
  principal: Scope;
  action: ActionScope;
  resource: Scope;
}
export interface PolicyIndex {
  /** In a fixed order; a subset is named by positions in this array. */
  readonly entries: readonly IndexedPolicy[];
  readonly staticPolicies: ReadonlyMap<string, string>;
  readonly templates: ReadonlyMap<string, string>;
  /** Link id -> link. */
  readonly links: ReadonlyMap<string, PolicyLink>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entityRef(value: unknown): EntityRef | undefined {
  if (!isRecord(value)) return undefined;
  const inner = isRecord(value['__entity']) ? value['__entity'] : value;
  const { type, id } = inner;
  return typeof type === 'string' && typeof id === 'string' && NAME.test(type) ? { type, id } : undefined;
}

/** The entity of `{ entity }` or `{ slot }` (filled from the link), or undefined when unknown. */
function target(json: Record<string, unknown>, link?: PolicyLink): EntityRef | undefined {
  if ('entity' in json) return entityRef(json['entity']);
  if (json['slot'] === '?principal') return link?.principal && entityRef(link.principal);
  if (json['slot'] === '?resource') return link?.resource && entityRef(link.resource);
  return undefined;
}

function scope(json: unknown, link?: PolicyLink): Scope | undefined {
  if (!isRecord(json)) return undefined;
  switch (json['op']) {
    case 'All':
      return { op: 'All' };
    case '==':
    case 'in': {
      const entity = target(json, link);
      return entity && { op: json['op'], entity };
    }
    case 'is': {
      const type = json['entity_type'];
      if (typeof type !== 'string' || !NAME.test(type)) return undefined;
      if (json['in'] === undefined) return { op: 'is', type };
      if (!isRecord(json['in'])) return undefined;
      const within = target(json['in'], link);
      return within && { op: 'is', type, in: within };
    }
    default:
      return undefined;
  }
}

function actionScope(json: unknown): ActionScope | undefined {
  if (!isRecord(json)) return undefined;
  if (json['op'] === 'All') return { op: 'All' };
  if (json['op'] === '==') {
    const entity = entityRef(json['entity']);
    return entity && { op: '==', entity };
  }
  if (json['op'] === 'in') {
    const raw = Array.isArray(json['entities']) ? (json['entities'] as unknown[]) : [json['entity']];
    const entities = raw.map(entityRef);
    return entities.every((e): e is EntityRef => e !== undefined) ? { op: 'in', entities } : undefined;
  }
  return undefined;
}

function indexed(id: string, json: cedar.PolicyToJsonAnswer, link?: PolicyLink): IndexedPolicy | undefined {
  if (json.type !== 'success') return undefined;
  const policy = json.json as unknown as Record<string, unknown>;
  const principal = scope(policy['principal'], link);
  const action = actionScope(policy['action']);
  const resource = scope(policy['resource'], link);
  return principal && action && resource ? { id, principal, action, resource } : undefined;
}

/** Indexes static policies and template links; undefined if any scope cannot be read. */
export function indexPolicySet(
  staticPolicies: ReadonlyMap<string, string>,
  templates: ReadonlyMap<string, string>,
  links: readonly PolicyLink[],
): PolicyIndex | undefined {
  try {
    const entries: IndexedPolicy[] = [];
    for (const [id, text] of staticPolicies) {
      const entry = indexed(id, cedar.policyToJson(text));
      if (entry === undefined) return undefined;
      entries.push(entry);
    }
    const templateJson = new Map<string, cedar.PolicyToJsonAnswer>();
    for (const link of links) {
      const text = templates.get(link.templateId);
      if (text === undefined) return undefined;
      let json = templateJson.get(link.templateId);
      if (json === undefined) templateJson.set(link.templateId, (json = cedar.templateToJson(text)));
      const entry = indexed(link.id, json, link);
      if (entry === undefined) return undefined;
      entries.push(entry);
    }
    return { entries, staticPolicies, templates, links: new Map(links.map((l) => [l.id, l])) };
  } catch {
    return undefined;
  }
}

const key = (e: EntityRef): string => `${e.type}\u0000${e.id}`;
const same = (a: EntityRef, b: EntityRef): boolean => a.type === b.type && a.id === b.id;

/** Action id -> the action groups it is (transitively) in, from the schema; undefined if unreadable. */
export function schemaActionGroups(schemaText: string): Map<string, Set<string>> | undefined {
  try {
    const answer = cedar.schemaToJson(schemaText);
    if (answer.type !== 'success') return undefined;
    const direct = new Map<string, string[]>();
    for (const [namespace, body] of Object.entries(answer.json as Record<string, unknown>)) {
      if (!isRecord(body) || !isRecord(body['actions'])) continue;
      const actionType = namespace === '' ? 'Action' : `${namespace}::Action`;
      for (const [name, def] of Object.entries(body['actions'])) {
        const parents: string[] = [];
        const memberOf = isRecord(def) ? def['memberOf'] : undefined;
        if (Array.isArray(memberOf)) {
          for (const m of memberOf as unknown[]) {
            if (!isRecord(m) || typeof m['id'] !== 'string') return undefined;
            const type = typeof m['type'] === 'string' ? (m['type'].includes('::') || namespace === '' ? m['type'] : `${namespace}::${m['type']}`) : actionType;
            parents.push(key({ type, id: m['id'] }));
          }
        }
        direct.set(key({ type: actionType, id: name }), parents);
      }
    }
    const closed = new Map<string, Set<string>>();
    for (const start of direct.keys()) {
      const seen = new Set<string>();
      const todo = [...(direct.get(start) ?? [])];
      while (todo.length > 0) {
        const next = todo.pop()!;
        if (seen.has(next)) continue;
        seen.add(next);
        todo.push(...(direct.get(next) ?? []));
      }
      closed.set(start, seen);
    }
    return closed;
  } catch {
    return undefined;
  }
}

/** The transitive ancestors of `uid` among `entities` (each parent looked up in the slice). */
function ancestors(uid: EntityRef, parentsOf: Map<string, EntityRef[]>): Set<string> {
  const seen = new Set<string>();
  const todo = [...(parentsOf.get(key(uid)) ?? [])];
  while (todo.length > 0) {
    const next = todo.pop()!;
    const k = key(next);
    if (seen.has(k)) continue;
    seen.add(k);
    todo.push(...(parentsOf.get(k) ?? []));
  }
  return seen;
}

function matches(s: Scope, uid: EntityRef, above: Set<string>): boolean {
  switch (s.op) {
    case 'All':
      return true;
    case '==':
      return same(s.entity, uid);
    case 'in':
      return same(s.entity, uid) || above.has(key(s.entity));
    case 'is':
      return s.type === uid.type && (s.in === undefined || same(s.in, uid) || above.has(key(s.in)));
  }
}

/**
 * Positions (ascending) of the policies whose scope can match the request, or undefined when the request
 * or slice is not in a form the index can reason about (evaluate the full set then).
 */
export function applicable(
  index: PolicyIndex,
  request: { principal: EntityRef; action: EntityRef; resource: EntityRef },
  entities: readonly CedarEntity[],
  actionGroups: Map<string, Set<string>>,
): number[] | undefined {
  const principal = entityRef(request.principal);
  const action = entityRef(request.action);
  const resource = entityRef(request.resource);
  if (!principal || !action || !resource) return undefined;
  const parentsOf = new Map<string, EntityRef[]>();
  for (const entity of entities) {
    if (!isRecord(entity)) return undefined;
    const uid = entityRef(entity.uid);
    if (uid === undefined || !Array.isArray(entity.parents)) return undefined;
    const parents: EntityRef[] = [];
    for (const p of entity.parents as unknown[]) {
      const parent = entityRef(p);
      if (parent === undefined) return undefined;
      parents.push(parent);
    }
    const k = key(uid);
    parentsOf.set(k, [...(parentsOf.get(k) ?? []), ...parents]);
  }
  const principalAbove = ancestors(principal, parentsOf);
  const resourceAbove = ancestors(resource, parentsOf);
  const actionAbove = new Set([...ancestors(action, parentsOf), ...(actionGroups.get(key(action)) ?? [])]);
  const out: number[] = [];
  index.entries.forEach((entry, n) => {
    const a = entry.action;
    const actionOk =
      a.op === 'All' ||
      (a.op === '==' ? same(a.entity, action) : a.entities.some((e) => same(e, action) || actionAbove.has(key(e))));
    if (actionOk && matches(entry.principal, principal, principalAbove) && matches(entry.resource, resource, resourceAbove)) out.push(n);
  });
  return out;
}

/** The Cedar policy set of the given positions. */
export function subsetPolicySet(index: PolicyIndex, positions: readonly number[]): cedar.PolicySet {
  const staticPolicies: Record<string, string> = {};
  const templates: Record<string, string> = {};
  const templateLinks: cedar.TemplateLink[] = [];
  for (const n of positions) {
    const { id } = index.entries[n]!;
    const text = index.staticPolicies.get(id);
    if (text !== undefined) {
      staticPolicies[id] = text;
      continue;
    }
    const link = index.links.get(id)!;
    templates[link.templateId] = index.templates.get(link.templateId)!;
    const values: Record<string, cedar.EntityUid> = {};
    if (link.principal !== undefined) values['?principal'] = { type: link.principal.type, id: link.principal.id };
    if (link.resource !== undefined) values['?resource'] = { type: link.resource.type, id: link.resource.id };
    templateLinks.push({ templateId: link.templateId, newId: link.id, values });
  }
  return templateLinks.length === 0 ? { staticPolicies } : { staticPolicies, templates, templateLinks };
}
