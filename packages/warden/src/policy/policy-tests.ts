/**
 * Policy tests: a YAML file of cases — principal, action, resource, optional context and entities, the
 * expected decision and optionally the policy that must be `because` of it — checked with zod (errors
 * name the case index and field) and run with the engine against a compiled set, one Cedar evaluation
 * per case. Entity references are written as Cedar text (`Warden::Agent::"billing-bot"`) or as JSON
 * (`{type, id}`); a bare action name means `Warden::Action::"<name>"`. Also reads a directory's `*.cedar`
 * files as the set to test, so policies can be tested before they are applied.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { WardenError } from '../errors/index.js';
import type { CedarEntity, CompiledPolicySet, EntityRef, PolicyEngine, PolicyFile } from './engine.js';

const entityText = /^((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)::"((?:[^"\\]|\\.)*)"$/;

const sameRef = (a: EntityRef, b: EntityRef) => a.type === b.type && a.id === b.id;

/** `Type::"id"` (namespaced types allowed) to an entity reference; undefined when it is not one. */
export function parseEntityRef(text: string): EntityRef | undefined {
  const m = entityText.exec(text.trim());
  if (!m) return undefined;
  try {
    return { type: m[1]!, id: JSON.parse(`"${m[2]!}"`) as string };
  } catch {
    return undefined;
  }
}

/** The Cedar text of a reference: `Type::"id"`. */
export const formatEntityRef = (ref: EntityRef): string => `${ref.type}::${JSON.stringify(ref.id)}`;

/** An entity reference as JSON `{type, id}`, the `{__entity: …}` escape, or Cedar text. */
export const entityRefSchema = z.union([
  z.strictObject({ type: z.string().min(1), id: z.string() }),
  z.strictObject({ __entity: z.strictObject({ type: z.string().min(1), id: z.string() }) }).transform((v) => v.__entity),
  z.string().transform((text, ctx) => parseEntityRef(text) ?? (ctx.addIssue({ code: 'custom', message: `not an entity reference: ${text} (write Type::"id")` }), z.NEVER)),
]);

/** An action: like an entity reference, or a bare name for `Warden::Action::"<name>"`. */
export const actionRefSchema = z.union([
  entityRefSchema,
  z.string().regex(/^[^":]+:[^"]+$|^[A-Za-z0-9_-]+$/).transform((id) => ({ type: 'Warden::Action', id })),
]);

/** A Cedar entity in Cedar's JSON entity format. */
export const cedarEntitySchema = z.strictObject({
  uid: entityRefSchema,
  attrs: z.record(z.string(), z.unknown()).default({}),
  parents: z.array(entityRefSchema).default([]),
  tags: z.record(z.string(), z.unknown()).optional(),
});

export const policyTestCaseSchema = z.strictObject({
  name: z.string().min(1).optional(),
  principal: entityRefSchema,
  action: actionRefSchema,
  resource: entityRefSchema,
  context: z.record(z.string(), z.unknown()).default({}),
  entities: z.array(cedarEntitySchema).default([]),
  expect: z.enum(['allow', 'deny']),
  because: z.string().min(1).optional(),
});

export type PolicyTestCase = z.output<typeof policyTestCaseSchema>;

/**
 * The request context a case starts from (the schema's RequestContext: noon on a Monday, from
 * 127.0.0.1, no risk, no findings); file `defaults.context` and then the case's `context` override it.
 */
export const baseTestContext: Readonly<Record<string, unknown>> = Object.freeze({
  hour: 12,
  weekday: 1,
  sourceIp: '127.0.0.1',
  riskScore: 0,
  findings: { categories: [], highestScore: 0 },
});

const defaultsSchema = z.strictObject({
  context: z.record(z.string(), z.unknown()).default({}),
  entities: z.array(cedarEntitySchema).default([]),
});

export interface PolicyTestResult {
  readonly index: number;
  readonly name: string;
  readonly pass: boolean;
  readonly expect: 'allow' | 'deny';
  readonly because?: string;
  readonly decision: 'allow' | 'deny';
  readonly policies: string[];
  readonly errors: string[];
  /** Why it failed, when it did. */
  readonly reason?: string;
}

/**
 * Parses a YAML document holding a list of cases (or `{cases: [...]}`). WARDEN_VALIDATION_FAILED names
 * each offending case by index (`cases[2].expect: ...`).
 */
export function parsePolicyTests(yamlText: string, source = 'policy tests'): PolicyTestCase[] {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (cause) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', `${source} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  const wrapped = doc !== null && typeof doc === 'object' && !Array.isArray(doc);
  const parsed = z
    .union([
      z.array(policyTestCaseSchema).transform((cases) => ({ defaults: { context: {}, entities: [] }, cases })),
      z.strictObject({ defaults: defaultsSchema.default({ context: {}, entities: [] }), cases: z.array(policyTestCaseSchema) }),
    ])
    .safeParse(doc);
  if (parsed.success) {
    const { defaults, cases } = parsed.data;
    if (cases.length === 0) throw new WardenError('WARDEN_VALIDATION_FAILED', `${source}: at least one case is required`);
    return cases.map((c) => ({
      ...c,
      context: { ...baseTestContext, ...defaults.context, ...c.context },
      entities: [...defaults.entities.filter((d) => !c.entities.some((e) => sameRef(e.uid, d.uid))), ...c.entities],
    }));
  }
  const issues = parsed.error.issues.flatMap((issue) => (issue.code === 'invalid_union' ? issue.errors[wrapped ? 1 : 0] ?? [] : [issue]));
  const errors = issues.map((issue) => {
    const path = [...issue.path];
    if (path[0] === 'cases' || path[0] === 'defaults') path.shift();
    const [index, ...rest] = path;
    const where = wrapped && issue.path[0] === 'defaults' ? 'defaults' : 'cases';
    const tail = rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return { path: typeof index === 'number' ? `${where}[${index}]${tail}` : index === undefined ? where : `${where}.${String(index)}${tail}`, message: issue.message };
  });
  if (errors.length === 0) errors.push({ path: 'cases', message: 'expected a list of cases or {defaults?, cases}' });
  const first = errors[0]!;
  throw new WardenError('WARDEN_VALIDATION_FAILED', `${source}: ${first.path}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`, {
    details: { errors },
  });
}

/** Runs every case against `set`; a case fails when the decision differs or `because` did not determine it. */
export function runPolicyTests(engine: Pick<PolicyEngine, 'evaluate'>, set: CompiledPolicySet, cases: readonly PolicyTestCase[]): PolicyTestResult[] {
  return cases.map((c, index) => {
    const entities: CedarEntity[] = c.entities.map((e) => ({ uid: e.uid, attrs: e.attrs, parents: e.parents, ...(e.tags === undefined ? {} : { tags: e.tags }) }));
    const result = engine.evaluate(set, { principal: c.principal, action: c.action, resource: c.resource, context: c.context }, entities);
    let reason: string | undefined;
    if (result.decision !== c.expect) reason = `expected ${c.expect}, got ${result.decision}`;
    else if (c.because !== undefined && !result.policies.includes(c.because)) {
      reason = `expected ${c.because} to determine the decision, got ${result.policies.length ? result.policies.join(', ') : 'no policy'}`;
    }
    return {
      index,
      name: c.name ?? `case ${index + 1}`,
      pass: reason === undefined,
      expect: c.expect,
      ...(c.because === undefined ? {} : { because: c.because }),
      decision: result.decision,
      policies: result.policies,
      errors: result.errors,
      ...(reason === undefined ? {} : { reason }),
    };
  });
}

/** Every `*.cedar` file directly in `dir`, sorted by name (names are the base names). */
export async function readPolicyDir(dir: string): Promise<PolicyFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.cedar')).map((e) => e.name);
  } catch (cause) {
    throw new WardenError('WARDEN_USAGE', `cannot read the policy directory ${dir}`, { cause });
  }
  if (names.length === 0) throw new WardenError('WARDEN_USAGE', `no *.cedar files in ${dir}`);
  names.sort();
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })));
}
