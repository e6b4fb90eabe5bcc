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
 * evaluates the full set. Policies are bucketed by the entity their principal and resource scopes name,
 * so a request checks only the policies of its own and its ancestors' buckets. The module also builds the
 * Cedar form of a set or subset (one joined text, ids mapped back by position) and guesses the subsets
 * worth prewarming at compile (`likelySubsets`).
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarEntity, EntityRef, PolicyLink } from './engine.js';

/** Scopes; `key` / `inKey` are the entity's `key()`, computed once at index time. */
type Scope =
  | { op: 'All' }
  | { op: '=='; entity: EntityRef; key: string }
  | { op: 'in'; entity: EntityRef; key: string }
  | { op: 'is'; type: string; in?: EntityRef; inKey?: string };
type ActionScope = { op: 'All' } | { op: '=='; entity: EntityRef } | { op: 'in'; entities: EntityRef[]; keys: string[] };

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
  /** Positions (ascending) by the entity a principal scope names (`''`: scopes naming none). */
  readonly byPrincipal: ReadonlyMap<string, readonly number[]>;
  /** The same for resource scopes. */
  readonly byResource: ReadonlyMap<string, readonly number[]>;
}

const key = (e: EntityRef): string => `${e.type}\u0000${e.id}`;
const same = (a: EntityRef, b: EntityRef): boolean => a.type === b.type && a.id === b.id;

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
      return entity && { op: json['op'], entity, key: key(entity) };
    }
    case 'is': {
      const type = json['entity_type'];
      if (typeof type !== 'string' || !NAME.test(type)) return undefined;
      if (json['in'] === undefined) return { op: 'is', type };
      if (!isRecord(json['in'])) return undefined;
      const within = target(json['in'], link);
      return within && { op: 'is', type, in: within, inKey: key(within) };
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
    return entities.every((e): e is EntityRef => e !== undefined) ? { op: 'in', entities, keys: entities.map(key) } : undefined;
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

/** The entity a scope names (`''` for none): a request can match the scope only through that entity. */
function named(s: Scope): string {
  if (s.op === '==' || s.op === 'in') return s.key;
  return s.op === 'is' && s.inKey !== undefined ? s.inKey : '';
}

function buckets(entries: readonly IndexedPolicy[], scopeOf: (e: IndexedPolicy) => Scope): Map<string, number[]> {
  const out = new Map<string, number[]>([['', []]]);
  entries.forEach((entry, n) => {
    const k = named(scopeOf(entry));
    const bucket = out.get(k);
    if (bucket === undefined) out.set(k, [n]);
    else bucket.push(n);
  });
  return out;
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
    return { entries, staticPolicies, templates, links: new Map(links.map((l) => [l.id, l])), byPrincipal: buckets(entries, (e) => e.principal), byResource: buckets(entries, (e) => e.resource) };
  } catch {
    return undefined;
  }
}

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

function matches(s: Scope, uid: EntityRef, above: ReadonlySet<string>): boolean {
  switch (s.op) {
    case 'All':
      return true;
    case '==':
      return same(s.entity, uid);
    case 'in':
      return same(s.entity, uid) || above.has(s.key);
    case 'is':
      return s.type === uid.type && (s.in === undefined || same(s.in, uid) || above.has(s.inKey!));
  }
}

function actionMatches(a: ActionScope, action: EntityRef, above: ReadonlySet<string>): boolean {
  if (a.op === 'All') return true;
  if (a.op === '==') return same(a.entity, action);
  for (let i = 0; i < a.entities.length; i++) if (same(a.entities[i]!, action) || above.has(a.keys[i]!)) return true;
  return false;
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
  // Only policies whose principal (or resource) scope names nothing, the entity itself or one of its
  // ancestors can match: check the smaller of the two candidate lists rather than every policy.
  const byPrincipal = candidates(index.byPrincipal, principal, principalAbove);
  const byResource = candidates(index.byResource, resource, resourceAbove);
  const { entries } = index;
  const lists = count(byPrincipal) <= count(byResource) ? byPrincipal : byResource;
  const out: number[] = [];
  for (const list of lists) {
    for (const n of list) {
      const entry = entries[n]!;
      if (actionMatches(entry.action, action, actionAbove) && matches(entry.principal, principal, principalAbove) && matches(entry.resource, resource, resourceAbove)) out.push(n);
    }
  }
  // Each list is ascending and the lists are disjoint (a policy is in one bucket per dimension).
  return lists.length > 1 ? out.sort((a, b) => a - b) : out;
}

/** The buckets a request entity can match: scopes naming nothing, the entity, or one of its ancestors. */
function candidates(buckets: ReadonlyMap<string, readonly number[]>, uid: EntityRef, above: ReadonlySet<string>): (readonly number[])[] {
  const out: (readonly number[])[] = [buckets.get('')!];
  const self = key(uid);
  const own = buckets.get(self);
  if (own !== undefined) out.push(own);
  for (const ancestor of above) {
    // A cyclic slice can list the entity among its own ancestors: its bucket is in already.
    const bucket = ancestor === self ? undefined : buckets.get(ancestor);
    if (bucket !== undefined) out.push(bucket);
  }
  return out;
}

const count = (lists: readonly (readonly number[])[]): number => lists.reduce((n, l) => n + l.length, 0);

/**
 * A policy set in the form Cedar preparses. Cedar parses one joined text about 3x faster than the same
 * policies given one by one (each entry pays a parser setup), but then names the static policies by
 * position (`policy0`, `policy1`, ...; the `@id` annotation does not set the id): `positional` holds our
 * id for each position. Templates and links keep their own ids (link ids are ours).
 */
export interface CedarPolicySet {
  policies: cedar.PolicySet;
  /** Our id of Cedar's `policy<n>`; absent when every policy is named by its own id (the per-id form). */
  positional?: readonly string[];
  /** The link ids, which Cedar reports as they are. */
  linkIds: ReadonlySet<string>;
}

/** Cedar's id of the static policy at `n` in a joined text. */
const POSITIONAL = /^policy(\d+)$/;

/**
 * Builds the Cedar form of static policies (id, text; in order) plus templates and links. `joined` asks
 * for the joined text; it falls back to the per-id form when a template or link id looks positional.
 */
export function cedarPolicySet(
  statics: readonly (readonly [string, string])[],
  templates: Readonly<Record<string, string>>,
  links: readonly cedar.TemplateLink[],
  joined = true,
): CedarPolicySet {
  const linkIds = new Set(links.map((l) => l.newId));
  const clash = Object.keys(templates).some((id) => POSITIONAL.test(id)) || [...linkIds].some((id) => POSITIONAL.test(id));
  const withTemplates = (staticPolicies: cedar.StaticPolicySet): cedar.PolicySet =>
    links.length === 0 && Object.keys(templates).length === 0 ? { staticPolicies } : { staticPolicies, templates: { ...templates }, templateLinks: [...links] };
  if (!joined || clash) return { policies: withTemplates(Object.fromEntries(statics)), linkIds };
  return { policies: withTemplates(statics.map(([, text]) => text).join('\n')), positional: statics.map(([id]) => id), linkIds };
}

/**
 * Our id of a policy id Cedar reported for `set`, or undefined when it names no policy of the set
 * (the caller fails closed).
 */
export function ourPolicyId(set: CedarPolicySet, cedarId: string): string | undefined {
  if (set.linkIds.has(cedarId)) return cedarId;
  if (set.positional === undefined) return cedarId;
  const n = POSITIONAL.exec(cedarId)?.[1];
  return n === undefined ? undefined : set.positional[Number(n)];
}

/** The Cedar policy set of the given positions (joined form unless `joined` is false). */
export function subsetPolicySet(index: PolicyIndex, positions: readonly number[], joined = true): CedarPolicySet {
  const statics: [string, string][] = [];
  const templates: Record<string, string> = {};
  const templateLinks: cedar.TemplateLink[] = [];
  for (const n of positions) {
    const { id } = index.entries[n]!;
    const text = index.staticPolicies.get(id);
    if (text !== undefined) {
      statics.push([id, text]);
      continue;
    }
    const link = index.links.get(id)!;
    templates[link.templateId] = index.templates.get(link.templateId)!;
    const values: Record<string, cedar.EntityUid> = {};
    if (link.principal !== undefined) values['?principal'] = { type: link.principal.type, id: link.principal.id };
    if (link.resource !== undefined) values['?resource'] = { type: link.resource.type, id: link.resource.id };
    templateLinks.push({ templateId: link.templateId, newId: link.id, values });
  }
  return cedarPolicySet(statics, templates, templateLinks, joined);
}

/** Limits of `likelySubsets`. */
export interface PrewarmLimits {
  /** At most this many subsets. */
  maxSubsets: number;
  /** At most this many policies over all subsets (parsing cost is about linear in it). */
  maxPolicies: number;
}

/** Profiles tried per scope dimension, and scope checks spent enumerating, before giving up. */
const MAX_PROFILES = 4096;
const MAX_WORK = 4_000_000;
const MAX_COMBINATIONS = 200_000;

interface Profile {
  uid: EntityRef;
  above: ReadonlySet<string>;
}

/**
 * Hypothetical principals (or resources) covering the scopes of the set: each entity an `==` names and
 * one entity of each type an `is` names or of no named type, each with no ancestor or with one ancestor
 * an `in` names; and each group an `in` names, as itself without ancestors. Undefined when there are
 * too many.
 */
function profilesOf(scopes: readonly Scope[]): Profile[] | undefined {
  const members = new Map<string, EntityRef>();
  const groups = new Map<string, EntityRef>();
  const types = new Set<string>();
  for (const s of scopes) {
    if (s.op === '==') members.set(s.key, s.entity);
    else if (s.op === 'in') groups.set(s.key, s.entity);
    else if (s.op === 'is') {
      types.add(s.type);
      if (s.in !== undefined) groups.set(s.inKey!, s.in);
    }
  }
  // The unnamed id and type cannot be Cedar names, so they equal nothing a scope names.
  for (const type of types) members.set(`${type}\u0000`, { type, id: '\u0000' });
  members.set('\u0000', { type: '\u0000', id: '\u0000' });
  const aboves: ReadonlySet<string>[] = [new Set(), ...[...groups.keys()].map((g) => new Set([g]))];
  if (members.size * aboves.length + groups.size > MAX_PROFILES) return undefined;
  const none: ReadonlySet<string> = new Set();
  return [...[...members.values()].flatMap((uid) => aboves.map((above) => ({ uid, above }))), ...[...groups.values()].map((uid) => ({ uid, above: none }))];
}

/** The distinct bitsets (over entries) of the profiles, by their string form. */
function distinct(entries: readonly IndexedPolicy[], count: number, test: (entry: IndexedPolicy, i: number) => boolean): Uint32Array[] {
  const out = new Map<string, Uint32Array>();
  const words = Math.ceil(entries.length / 32);
  for (let i = 0; i < count; i++) {
    const bits = new Uint32Array(words);
    entries.forEach((entry, n) => {
      if (test(entry, i)) bits[n >>> 5]! |= 1 << (n & 31);
    });
    out.set(bits.join(','), bits);
  }
  return [...out.values()];
}

/**
 * The subsets (positions, ascending) that requests whose principal and resource each have at most one
 * ancestor named by a scope would use, within `limits`, largest first (a large subset is the costliest
 * to meet for the first time on the request path). Excludes the full set. A best-effort guess for
 * prewarming: any other request still finds its exact subset through `applicable`.
 */
export function likelySubsets(index: PolicyIndex, actionGroups: Map<string, Set<string>>, limits: PrewarmLimits): number[][] {
  const { entries } = index;
  if (entries.length === 0 || limits.maxSubsets <= 0) return [];
  const principals = profilesOf(entries.map((e) => e.principal));
  const resources = profilesOf(entries.map((e) => e.resource));
  if (principals === undefined || resources === undefined) return [];
  const actions = [...actionGroups].map(([k, groups]) => {
    const at = k.indexOf('\u0000');
    return { uid: { type: k.slice(0, at), id: k.slice(at + 1) }, above: groups };
  });
  if ((principals.length + resources.length + actions.length) * entries.length > MAX_WORK) return [];
  const p = distinct(entries, principals.length, (e, i) => matches(e.principal, principals[i]!.uid, principals[i]!.above));
  const r = distinct(entries, resources.length, (e, i) => matches(e.resource, resources[i]!.uid, resources[i]!.above));
  const a = distinct(entries, actions.length, (e, i) => actionMatches(e.action, actions[i]!.uid, actions[i]!.above));
  if (p.length * r.length * a.length > MAX_COMBINATIONS) return [];
  const found = new Map<string, number[]>();
  const words = Math.ceil(entries.length / 32);
  for (const pb of p) {
    for (const ab of a) {
      for (const rb of r) {
        const positions: number[] = [];
        for (let w = 0; w < words; w++) {
          let bits = pb[w]! & ab[w]! & rb[w]!;
          while (bits !== 0) {
            const low = bits & -bits;
            positions.push(w * 32 + 31 - Math.clz32(low));
            bits ^= low;
          }
        }
        if (positions.length < entries.length) found.set(positions.join(','), positions);
      }
    }
  }
  const out: number[][] = [];
  let budget = limits.maxPolicies;
  for (const positions of [...found.values()].sort((x, y) => y.length - x.length)) {
    if (out.length >= limits.maxSubsets) break;
    if (positions.length > budget) continue;
    budget -= positions.length;
    out.push(positions);
  }
  return out;
}
