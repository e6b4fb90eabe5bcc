/**
 * The Cedar engine: turns policy files into a strictly validated, preparsed policy set and evaluates
 * one request against it. `check` never throws and reports every problem as a diagnostic pointing at
 * file, line and column (parse errors, strict-validation errors, duplicate or unsupported policies);
 * `compile` preparses the set inside the WASM module under a content-derived handle; `evaluate` is a
 * single Cedar call that fails closed — any evaluation error, malformed request or unknown set denies,
 * because Cedar skips an erroring `forbid`, which could otherwise turn a deny into an allow. Compiled sets
 * are indexed by policy scope (`policy-index.ts`): each request is evaluated against a preparsed subset
 * holding only the policies whose scope can match it (cached per engine), which decides exactly as the
 * full set since a policy whose scope does not match never evaluates its condition. Compile prewarms the
 * subsets that requests with one role and one server are expected to use (bounded), so they do not pay a
 * preparse on the request path. Sets and subsets are preparsed as one joined text (about 3x cheaper than
 * policy by policy), in which Cedar names policies by position; every id Cedar reports is mapped back to
 * ours, and an id naming no policy of the set denies.
 */
import { createHash } from 'node:crypto';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { WardenError } from '../errors/index.js';
import {
  applicable,
  cedarPolicySet,
  indexPolicySet,
  likelySubsets,
  ourPolicyId,
  schemaActionGroups,
  subsetPolicySet,
  type CedarPolicySet,
  type PolicyIndex,
} from './policy-index.js';
import { wardenSchema } from './schema.js';

export interface PolicyFile {
  name: string;
  text: string;
}
export interface PolicyDiagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
  message: string;
  policyId?: string;
}
export interface EntityRef {
  type: string;
  id: string;
}
export interface CedarEntity {
  uid: EntityRef;
  attrs: Record<string, unknown>;
  parents: EntityRef[];
  tags?: Record<string, unknown>;
}
export interface AuthorizationRequest {
  principal: EntityRef;
  action: EntityRef;
  resource: EntityRef;
  context: Record<string, unknown>;
}
export interface CompiledPolicySet {
  readonly version: number;
  /** Policy id -> policy text. */
  readonly policies: ReadonlyMap<string, string>;
  /** Opaque id of the preparsed set inside the WASM module (a digest of the policies). */
  readonly handle: string;
  /** Template id -> template text (absent on sets compiled without templates). */
  readonly templates?: ReadonlyMap<string, string>;
  /** The template links evaluated with the set. */
  readonly links?: readonly PolicyLink[];
}
/** A template linked to a principal and/or resource; `id` names it in decisions. */
export interface PolicyLink {
  id: string;
  templateId: string;
  principal?: EntityRef;
  resource?: EntityRef;
}
export interface Evaluation {
  decision: 'allow' | 'deny';
  /** The determining policies; when an error forced the deny, the policies that errored. */
  policies: string[];
  errors: string[];
}
export type CheckResult =
  | { ok: true; policies: Map<string, string>; templates?: Map<string, string> }
  | { ok: false; diagnostics: PolicyDiagnostic[] };
/** The pseudo file name of diagnostics about template links. */
export const LINKS_FILE = '(links)';
export interface PolicyEngine {
  /**
   * Parse + strict-validate against the schema; never throws for bad input. Policy ids: the `@id("...")`
   * annotation if present, else `<file name without .cedar>.<n>` (n = 0-based position in the file).
   */
  check(files: readonly PolicyFile[], links?: readonly PolicyLink[]): CheckResult;
  /** check() then prepare for evaluation; throws WARDEN_POLICY_INVALID with `details.errors`. */
  compile(version: number, files: readonly PolicyFile[], links?: readonly PolicyLink[]): CompiledPolicySet;
  /** One Cedar evaluation. Default deny; any error denies. */
  evaluate(set: CompiledPolicySet, request: AuthorizationRequest, entities: readonly CedarEntity[]): Evaluation;
}

/** 1-based line and column of a UTF-8 byte offset (Cedar reports byte offsets) in `text`. */
function position(text: string, byteOffset: number): { line: number; column: number } {
  const before = Buffer.from(text, 'utf8').subarray(0, Math.max(0, byteOffset)).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1] ?? '').length + 1 };
}

function describe(error: cedar.DetailedError): string {
  const label = error.sourceLocations?.find((l) => l.label)?.label;
  let message = label ? `${error.message}: ${label}` : error.message;
  if (error.help) message += ` (${error.help})`;
  return message;
}

/** Flattens a Cedar error and its related errors into diagnostics (falling back to `fallbackOffset`). */
function toDiagnostics(file: PolicyFile, error: cedar.DetailedError, fallbackOffset: number, policyId?: string): PolicyDiagnostic[] {
  const out: PolicyDiagnostic[] = [];
  const offset = error.sourceLocations?.[0]?.start ?? fallbackOffset;
  const diagnostic: PolicyDiagnostic = { file: file.name, ...position(file.text, offset), message: describe(error) };
  if (policyId !== undefined) diagnostic.policyId = policyId;
  out.push(diagnostic);
  for (const related of error.related ?? []) out.push(...toDiagnostics(file, related, offset, policyId));
  return out;
}

function baseName(name: string): string {
  const file = name.split('/').pop() ?? name;
  return file.endsWith('.cedar') ? file.slice(0, -'.cedar'.length) : file;
}

function checkFile(file: PolicyFile, schema: string, ids: Map<string, string>, policies: Map<string, string>, templates: Map<string, string>): PolicyDiagnostic[] {
  const parts = cedar.policySetTextToParts(file.text);
  if (parts.type === 'failure') return parts.errors.flatMap((e) => toDiagnostics(file, e, 0));
  const diagnostics: PolicyDiagnostic[] = [];
  // Every policy and template with its byte offset in the file, in file order (ids count both).
  const located: { text: string; template: boolean; at: number }[] = [];
  const locate = (texts: string[], template: boolean) => {
    let cursor = 0;
    for (const text of texts) {
      const at = file.text.indexOf(text, cursor);
      if (at >= 0) cursor = at + text.length;
      located.push({ text, template, at: at < 0 ? 0 : Buffer.byteLength(file.text.slice(0, at), 'utf8') });
    }
  };
  locate(parts.policies, false);
  locate(parts.policy_templates, true);
  if (parts.policy_templates.length > 0) located.sort((a, b) => a.at - b.at);

  const local: string[] = [];
  const offsets = new Map<string, number>();
  const staticById: Record<string, string> = {};
  const templatesById: Record<string, string> = {};
  located.forEach(({ text, template, at: offset }, n) => {
    const json = template ? cedar.templateToJson(text) : cedar.policyToJson(text);
    const id = (json.type === 'success' ? json.json.annotations?.['id'] : undefined) ?? `${baseName(file.name)}.${n}`;
    if (!template) local.push(id);
    const previous = ids.get(id);
    if (previous !== undefined) {
      diagnostics.push({ file: file.name, ...position(file.text, offset), policyId: id, message: `duplicate policy id "${id}" (first defined in ${previous})` });
      return;
    }
    ids.set(id, file.name);
    offsets.set(id, offset);
    if (template) {
      templates.set(id, text);
      templatesById[id] = text;
    } else {
      policies.set(id, text);
      staticById[id] = text;
    }
  });

  if (parts.policy_templates.length === 0) {
    const validation = cedar.validate({ schema, policies: { staticPolicies: file.text }, validationSettings: { mode: 'strict' } });
    if (validation.type === 'failure') return [...diagnostics, ...validation.errors.flatMap((e) => toDiagnostics(file, e, 0))];
    for (const { policyId, error } of validation.validationErrors) {
      const n = /^policy(\d+)$/.exec(policyId)?.[1];
      diagnostics.push(...toDiagnostics(file, error, 0, n === undefined ? policyId : local[Number(n)] ?? policyId));
    }
    return diagnostics;
  }
  // With templates, validate by id: source locations are then relative to each policy's own text.
  const validation = cedar.validate({ schema, policies: { staticPolicies: staticById, templates: templatesById }, validationSettings: { mode: 'strict' } });
  if (validation.type === 'failure') return [...diagnostics, ...validation.errors.flatMap((e) => toDiagnostics(file, e, 0))];
  for (const { policyId, error } of validation.validationErrors) {
    const base = offsets.get(policyId) ?? 0;
    diagnostics.push(...toDiagnostics(file, shift(error, base), base, policyId));
  }
  return diagnostics;
}

/** `error` with its source locations moved by `by` bytes. */
function shift(error: cedar.DetailedError, by: number): cedar.DetailedError {
  return {
    ...error,
    sourceLocations: (error.sourceLocations ?? []).map((l) => ({ ...l, start: l.start + by, end: l.end + by })),
    related: (error.related ?? []).map((r) => shift(r, by)),
  };
}

const SLOTS = { principal: '?principal', resource: '?resource' } as const;

/** The Cedar JSON of a link. */
function linkJson(link: PolicyLink): cedar.TemplateLink {
  const values: Record<string, cedar.EntityUid> = {};
  if (link.principal !== undefined) values[SLOTS.principal] = { type: link.principal.type, id: link.principal.id };
  if (link.resource !== undefined) values[SLOTS.resource] = { type: link.resource.type, id: link.resource.id };
  return { templateId: link.templateId, newId: link.id, values };
}

/** Checks each link: unique id, an existing template, exactly its slots filled, and strict validation of the linked policy. */
function checkLinks(links: readonly PolicyLink[], schema: string, ids: Map<string, string>, templates: Map<string, string>): PolicyDiagnostic[] {
  const diagnostics: PolicyDiagnostic[] = [];
  const at = (link: PolicyLink, message: string): PolicyDiagnostic => ({ file: LINKS_FILE, line: 1, column: 1, policyId: link.id, message });
  for (const link of links) {
    if (ids.has(link.id)) {
      diagnostics.push(at(link, `duplicate policy id "${link.id}" (already used by ${ids.get(link.id)})`));
      continue;
    }
    ids.set(link.id, LINKS_FILE);
    const template = templates.get(link.templateId);
    if (template === undefined) {
      diagnostics.push(at(link, `link "${link.id}": no template "${link.templateId}" in the policy set`));
      continue;
    }
    const json = cedar.templateToJson(template);
    if (json.type === 'failure') {
      diagnostics.push(at(link, `link "${link.id}": template "${link.templateId}" does not parse`));
      continue;
    }
    let slotsOk = true;
    for (const slot of ['principal', 'resource'] as const) {
      const has = JSON.stringify(json.json[slot]).includes(`"${SLOTS[slot]}"`);
      if (has && link[slot] === undefined) {
        diagnostics.push(at(link, `link "${link.id}": template "${link.templateId}" needs a ${slot} (${SLOTS[slot]})`));
        slotsOk = false;
      } else if (!has && link[slot] !== undefined) {
        diagnostics.push(at(link, `link "${link.id}": template "${link.templateId}" has no ${SLOTS[slot]} slot`));
        slotsOk = false;
      }
    }
    if (!slotsOk) continue;
    const validation = cedar.validate({
      schema,
      policies: { templates: { [link.templateId]: template }, templateLinks: [linkJson(link)] },
      validationSettings: { mode: 'strict' },
    });
    if (validation.type === 'failure') {
      diagnostics.push(...validation.errors.map((e) => at(link, `link "${link.id}": ${describe(e)}`)));
      continue;
    }
    // A slot filled with an entity of the wrong type makes the linked policy impossible: Cedar warns, Warden refuses.
    for (const { policyId, error } of [...validation.validationErrors, ...validation.validationWarnings]) {
      if (policyId === link.id) diagnostics.push(at(link, `link "${link.id}": ${describe(error)}`));
    }
  }
  return diagnostics;
}

/** Preparsed subsets kept per engine; their WASM names are reused on eviction, so memory stays bounded. */
const SUBSET_CACHE = 512;
/** How many first-seen large subset keys are remembered. */
const SEEN_ONCE = 4096;
/** Parsing a policy costs about this many policy evaluations. */
const PARSE_COST = 32;
/** Compile prewarms at most this many subsets ... */
const PREWARM_SUBSETS = 256;
/** ... holding at most this many times the set's policies in all (preparsing is ~linear in policies). */
const PREWARM_POLICIES = 4;
/** Engines created in this process (WASM names are process-wide). */
let engines = 0;

/** A preparsed set: its WASM name and the Cedar form it was preparsed from (null: unknown, ids as reported). */
interface Preparsed {
  name: string;
  form: CedarPolicySet | null;
}

/** The WASM name of a full set: a digest of exactly what was preparsed, including the positional ids. */
function handleOf(form: CedarPolicySet): string {
  return `warden-pset-${createHash('sha256').update(JSON.stringify([form.policies, form.positional ?? null])).digest('hex')}`;
}

function failClosed(errors: string[], policies: string[] = []): Evaluation {
  return { decision: 'deny', policies, errors };
}

/**
 * Creates a policy engine over the Warden schema. The schema and each compiled set are preparsed in
 * the (process-wide) WASM module; set handles are content digests, so recompiling the same policies
 * reuses one preparsed set.
 */
export function createPolicyEngine(): PolicyEngine {
  const schemaName = `warden-schema-${createHash('sha256').update(wardenSchema).digest('hex').slice(0, 16)}`;
  const schemaReady = cedar.preparseSchema(schemaName, wardenSchema);
  if (schemaReady.type === 'failure') throw new Error(`Warden schema does not parse: ${schemaReady.errors.map(describe).join('; ')}`);
  /** The Cedar form of each handle this engine preparsed (handles are process-wide content digests). */
  const prepared = new Map<string, CedarPolicySet>();
  /** The Cedar form of sets from elsewhere (see `formOf`). */
  const foreign = new WeakMap<CompiledPolicySet, CedarPolicySet | null>();
  /** Scope indexes of the sets this engine compiled (sets from elsewhere are evaluated whole). */
  const indexes = new WeakMap<CompiledPolicySet, PolicyIndex>();
  const actionGroups = schemaActionGroups(wardenSchema);
  const engineTag = String(++engines);
  /** Subset key -> WASM name and Cedar form, in LRU order. */
  const subsets = new Map<string, Preparsed>();
  let nextSlot = 0;
  /** Keys of large subsets seen once and not preparsed yet, oldest first. */
  const seenOnce = new Set<string>();

  /**
   * Preparses `pset` under `name`, joined text first (falling back to the per-id form, which also gives
   * the clearer parse errors); the form that took, or the failure of the per-id form.
   */
  function preparse(name: string, build: (joined: boolean) => CedarPolicySet): { form: CedarPolicySet } | { errors: cedar.DetailedError[] } {
    const joined = build(true);
    if (joined.positional !== undefined && cedar.preparsePolicySet(name, joined.policies).type === 'success') return { form: joined };
    const byId = build(false);
    const answer = cedar.preparsePolicySet(name, byId.policies);
    return answer.type === 'success' ? { form: byId } : { errors: answer.errors };
  }

  /** Preparses a full set (joined text first, else per id) unless this engine already has; throws if neither parses. */
  function prepareSet(build: (joined: boolean) => CedarPolicySet): { handle: string } {
    const joined = build(true);
    const joinedHandle = handleOf(joined);
    if (prepared.has(joinedHandle)) return { handle: joinedHandle };
    if (joined.positional !== undefined && cedar.preparsePolicySet(joinedHandle, joined.policies).type === 'success') {
      prepared.set(joinedHandle, joined);
      return { handle: joinedHandle };
    }
    const byId = build(false);
    const handle = handleOf(byId);
    if (prepared.has(handle)) return { handle };
    const answer = cedar.preparsePolicySet(handle, byId.policies);
    if (answer.type === 'failure') {
      const errors = answer.errors.map((e) => ({ file: '', line: 1, column: 1, message: describe(e) }));
      throw new WardenError('WARDEN_POLICY_INVALID', 'Policy set could not be prepared', { details: { errors } });
    }
    prepared.set(handle, byId);
    return { handle };
  }

  /** Preparses the subset `positions` of `index` under a (possibly recycled) WASM name; undefined on failure. */
  function prepareSubset(key: string, index: PolicyIndex, positions: readonly number[]): Preparsed | undefined {
    let name: string;
    if (subsets.size >= SUBSET_CACHE) {
      const [oldest, old] = subsets.entries().next().value as [string, Preparsed];
      subsets.delete(oldest);
      name = old.name;
    } else {
      name = `warden-subset-${engineTag}-${nextSlot++}`;
    }
    const result = preparse(name, (joined) => subsetPolicySet(index, positions, joined));
    if (!('form' in result)) return undefined;
    const entry = { name, form: result.form };
    subsets.set(key, entry);
    return entry;
  }

  /**
   * The Cedar form behind `set.handle`: recorded at compile, or for a set compiled elsewhere (another
   * engine, a copy) rebuilt from the set and recognised by its content digest; null when unknown (ids
   * are then taken as Cedar reports them).
   */
  function formOf(set: CompiledPolicySet): CedarPolicySet | null {
    const own = prepared.get(set.handle);
    if (own !== undefined) return own;
    const cached = foreign.get(set);
    if (cached !== undefined) return cached;
    const linkIds = new Set((set.links ?? []).map((l) => l.id));
    const statics = [...set.policies].filter(([id]) => !linkIds.has(id));
    const templates = Object.fromEntries(set.templates ?? new Map<string, string>());
    const links = (set.links ?? []).map(linkJson);
    const found = [true, false].map((joined) => cedarPolicySet(statics, templates, links, joined)).find((form) => handleOf(form) === set.handle) ?? null;
    foreign.set(set, found);
    return found;
  }

  /** The preparsed set to evaluate `request` with: a subset of `set` holding every policy that can apply. */
  function handleFor(set: CompiledPolicySet, request: AuthorizationRequest, entities: readonly CedarEntity[]): Preparsed {
    const whole = (): Preparsed => ({ name: set.handle, form: formOf(set) });
    const index = indexes.get(set);
    if (index === undefined || actionGroups === undefined) return whole();
    const positions = applicable(index, request, entities, actionGroups);
    if (positions === undefined || positions.length === index.entries.length) return whole();
    const key = `${set.handle}|${positions.join(',')}`;
    const known = subsets.get(key);
    if (known !== undefined) {
      subsets.delete(key);
      subsets.set(key, known);
      return known;
    }
    // Parsing a policy costs ~50x evaluating one, so a large subset seen for the first time (one that
    // compile did not prewarm) is evaluated through the full set; it is preparsed when its key comes back.
    if (positions.length * PARSE_COST > index.entries.length && !seenOnce.delete(key)) {
      if (seenOnce.size >= SEEN_ONCE) seenOnce.delete(seenOnce.values().next().value as string);
      seenOnce.add(key);
      return whole();
    }
    return prepareSubset(key, index, positions) ?? whole();
  }

  /** Preparses the subsets likely requests will use, so that they do not pay it on the request path. */
  function prewarm(handle: string, index: PolicyIndex): void {
    if (actionGroups === undefined) return;
    const limits = { maxSubsets: PREWARM_SUBSETS, maxPolicies: PREWARM_POLICIES * index.entries.length };
    for (const positions of likelySubsets(index, actionGroups, limits)) {
      const key = `${handle}|${positions.join(',')}`;
      if (!subsets.has(key)) prepareSubset(key, index, positions);
    }
  }

  function check(files: readonly PolicyFile[], links: readonly PolicyLink[] = []): CheckResult {
    const ids = new Map<string, string>();
    const policies = new Map<string, string>();
    const templates = new Map<string, string>();
    const diagnostics: PolicyDiagnostic[] = [];
    for (const file of files) {
      try {
        diagnostics.push(...checkFile(file, wardenSchema, ids, policies, templates));
      } catch (err) {
        diagnostics.push({ file: file.name, line: 1, column: 1, message: `could not check policy file: ${String(err)}` });
      }
    }
    if (diagnostics.length === 0 && links.length > 0) {
      try {
        diagnostics.push(...checkLinks(links, wardenSchema, ids, templates));
      } catch (err) {
        diagnostics.push({ file: LINKS_FILE, line: 1, column: 1, message: `could not check template links: ${String(err)}` });
      }
    }
    return diagnostics.length > 0 ? { ok: false, diagnostics } : { ok: true, policies, templates };
  }

  function compile(version: number, files: readonly PolicyFile[], links: readonly PolicyLink[] = []): CompiledPolicySet {
    const result = check(files, links);
    if (!result.ok) {
      throw new WardenError('WARDEN_POLICY_INVALID', `Policy set has ${result.diagnostics.length} error(s)`, { details: { errors: result.diagnostics } });
    }
    const templates = result.templates ?? new Map<string, string>();
    const statics = [...result.policies];
    const build = (joined: boolean) => cedarPolicySet(statics, Object.fromEntries(templates), links.map(linkJson), joined);
    const { handle } = prepareSet(build);
    // A link's id names the template's text, so decisions it determined can be explained.
    const all = new Map(result.policies);
    for (const link of links) all.set(link.id, templates.get(link.templateId) ?? '');
    const compiled: CompiledPolicySet = Object.freeze({ version, policies: all, handle, templates, links: links.map((l) => ({ ...l })) });
    const index = indexPolicySet(result.policies, templates, links);
    if (index !== undefined) {
      indexes.set(compiled, index);
      prewarm(handle, index);
    }
    return compiled;
  }

  function evaluate(set: CompiledPolicySet, request: AuthorizationRequest, entities: readonly CedarEntity[]): Evaluation {
    // (the scope index below sees the whole slice; Cedar gets it without the entities that carry nothing)
    let answer: cedar.AuthorizationAnswer;
    let form: CedarPolicySet | null;
    try {
      const preparsed = handleFor(set, request, entities);
      form = preparsed.form;
      answer = cedar.statefulIsAuthorized({
        principal: request.principal,
        action: request.action,
        resource: request.resource,
        context: request.context as cedar.Context,
        preparsedSchemaName: schemaName,
        preparsedPolicySetId: preparsed.name,
        validateRequest: true,
        entities: cedarSlice(entities, request) as cedar.EntityJson[],
      });
    } catch (err) {
      return failClosed([`evaluation failed: ${String(err)}`]);
    }
    if (answer.type === 'failure') return failClosed(answer.errors.map(describe));
    const { decision, diagnostics } = answer.response;
    // Cedar's ids back to ours (a joined text names policies by position); an id naming no policy denies.
    const unknown: string[] = [];
    const ours = (id: string): string => {
      const mapped = form === null ? id : ourPolicyId(form, id);
      if (mapped === undefined) unknown.push(id);
      return mapped ?? id;
    };
    const reasons = diagnostics.reason.map(ours);
    const failures = diagnostics.errors.map((e) => ({ policyId: ours(e.policyId), error: e.error }));
    if (unknown.length > 0) return failClosed(unknown.map((id) => `evaluation failed: Cedar named an unknown policy "${id}"`));
    if (failures.length > 0) {
      const errored = [...new Set(failures.map((e) => e.policyId))].sort();
      // Sorted by policy id: Cedar reports errors in an order that depends on the set's internal layout.
      failures.sort((a, b) => (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0));
      return failClosed(failures.map((e) => `${e.policyId}: ${describe(e.error)}`), errored);
    }
    return { decision, policies: reasons.sort(), errors: [] };
  }

  return { check, compile, evaluate };
}

/**
 * The slice as Cedar needs it: without entities that carry nothing (no attributes, parents or tags —
 * e.g. an agent's roles, which have no hierarchy yet), other than the principal and the resource. Such an
 * entity changes no decision: `in` reads ancestry from its children's parents, and reading an attribute
 * of it errors (deny) whether it is present or not. Each entity passed costs Cedar ~25 µs to decode.
 */
function cedarSlice(entities: readonly CedarEntity[], request: AuthorizationRequest): readonly CedarEntity[] {
  const carriesNothing = (e: CedarEntity): boolean =>
    e.parents.length === 0 &&
    Object.keys(e.attrs).length === 0 &&
    (e.tags === undefined || Object.keys(e.tags).length === 0) &&
    !sameRef(e.uid, request.principal) &&
    !sameRef(e.uid, request.resource);
  return entities.some(carriesNothing) ? entities.filter((e) => !carriesNothing(e)) : entities;
}

function sameRef(a: EntityRef, b: EntityRef): boolean {
  return a.type === b.type && a.id === b.id;
}
