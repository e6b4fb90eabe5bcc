/**
 * The Cedar engine: turns policy files into a strictly validated, preparsed policy set and evaluates
 * one request against it. `check` never throws and reports every problem as a diagnostic pointing at
 * file, line and column (parse errors, strict-validation errors, duplicate or unsupported policies);
 * `compile` preparses the set inside the WASM module under a content-derived handle; `evaluate` is a
 * single Cedar call that fails closed — any evaluation error, malformed request or unknown set denies,
 * because Cedar skips an erroring `forbid`, which could otherwise turn a deny into an allow.
 */
import { createHash } from 'node:crypto';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { WardenError } from '../errors/index.js';
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
}
export interface Evaluation {
  decision: 'allow' | 'deny';
  /** The determining policies; when an error forced the deny, the policies that errored. */
  policies: string[];
  errors: string[];
}
export type CheckResult = { ok: true; policies: Map<string, string> } | { ok: false; diagnostics: PolicyDiagnostic[] };
export interface PolicyEngine {
  /**
   * Parse + strict-validate against the schema; never throws for bad input. Policy ids: the `@id("...")`
   * annotation if present, else `<file name without .cedar>.<n>` (n = 0-based position in the file).
   */
  check(files: readonly PolicyFile[]): CheckResult;
  /** check() then prepare for evaluation; throws WARDEN_POLICY_INVALID with `details.errors`. */
  compile(version: number, files: readonly PolicyFile[]): CompiledPolicySet;
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

function checkFile(file: PolicyFile, schema: string, ids: Map<string, string>, policies: Map<string, string>): PolicyDiagnostic[] {
  const parts = cedar.policySetTextToParts(file.text);
  if (parts.type === 'failure') return parts.errors.flatMap((e) => toDiagnostics(file, e, 0));
  const diagnostics: PolicyDiagnostic[] = [];
  const byteStart = (part: string, from: number): number => {
    const at = file.text.indexOf(part, from);
    return at < 0 ? -1 : Buffer.byteLength(file.text.slice(0, at), 'utf8');
  };
  for (const template of parts.policy_templates) {
    const at = Math.max(0, byteStart(template, 0));
    diagnostics.push({ file: file.name, ...position(file.text, at), message: 'policy templates (slots ?principal/?resource) are not supported' });
  }
  if (parts.policy_templates.length > 0) return diagnostics;

  const local: string[] = [];
  let cursor = 0;
  parts.policies.forEach((text, n) => {
    const at = file.text.indexOf(text, cursor);
    if (at >= 0) cursor = at + text.length;
    const offset = at < 0 ? 0 : Buffer.byteLength(file.text.slice(0, at), 'utf8');
    const json = cedar.policyToJson(text);
    const id = (json.type === 'success' ? json.json.annotations?.['id'] : undefined) ?? `${baseName(file.name)}.${n}`;
    local.push(id);
    const previous = ids.get(id);
    if (previous !== undefined) {
      diagnostics.push({ file: file.name, ...position(file.text, offset), policyId: id, message: `duplicate policy id "${id}" (first defined in ${previous})` });
      return;
    }
    ids.set(id, file.name);
    policies.set(id, text);
  });

  const validation = cedar.validate({ schema, policies: { staticPolicies: file.text }, validationSettings: { mode: 'strict' } });
  if (validation.type === 'failure') return [...diagnostics, ...validation.errors.flatMap((e) => toDiagnostics(file, e, 0))];
  for (const { policyId, error } of validation.validationErrors) {
    const n = /^policy(\d+)$/.exec(policyId)?.[1];
    diagnostics.push(...toDiagnostics(file, error, 0, n === undefined ? policyId : local[Number(n)] ?? policyId));
  }
  return diagnostics;
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
  /** Handles this engine already preparsed (an optimisation only: handles are process-wide content digests). */
  const prepared = new Set<string>();

  function check(files: readonly PolicyFile[]): CheckResult {
    const ids = new Map<string, string>();
    const policies = new Map<string, string>();
    const diagnostics: PolicyDiagnostic[] = [];
    for (const file of files) {
      try {
        diagnostics.push(...checkFile(file, wardenSchema, ids, policies));
      } catch (err) {
        diagnostics.push({ file: file.name, line: 1, column: 1, message: `could not check policy file: ${String(err)}` });
      }
    }
    return diagnostics.length > 0 ? { ok: false, diagnostics } : { ok: true, policies };
  }

  function compile(version: number, files: readonly PolicyFile[]): CompiledPolicySet {
    const result = check(files);
    if (!result.ok) {
      throw new WardenError('WARDEN_POLICY_INVALID', `Policy set has ${result.diagnostics.length} error(s)`, { details: { errors: result.diagnostics } });
    }
    const staticPolicies = Object.fromEntries(result.policies);
    const handle = `warden-pset-${createHash('sha256').update(JSON.stringify(staticPolicies)).digest('hex')}`;
    if (!prepared.has(handle)) {
      const answer = cedar.preparsePolicySet(handle, { staticPolicies });
      if (answer.type === 'failure') {
        const errors = answer.errors.map((e) => ({ file: '', line: 1, column: 1, message: describe(e) }));
        throw new WardenError('WARDEN_POLICY_INVALID', 'Policy set could not be prepared', { details: { errors } });
      }
      prepared.add(handle);
    }
    return Object.freeze({ version, policies: result.policies, handle });
  }

  function evaluate(set: CompiledPolicySet, request: AuthorizationRequest, entities: readonly CedarEntity[]): Evaluation {
    let answer: cedar.AuthorizationAnswer;
    try {
      answer = cedar.statefulIsAuthorized({
        principal: request.principal,
        action: request.action,
        resource: request.resource,
        context: request.context as cedar.Context,
        preparsedSchemaName: schemaName,
        preparsedPolicySetId: set.handle,
        validateRequest: true,
        entities: entities as cedar.EntityJson[],
      });
    } catch (err) {
      return failClosed([`evaluation failed: ${String(err)}`]);
    }
    if (answer.type === 'failure') return failClosed(answer.errors.map(describe));
    const { decision, diagnostics } = answer.response;
    if (diagnostics.errors.length > 0) {
      const errored = [...new Set(diagnostics.errors.map((e) => e.policyId))].sort();
      return failClosed(diagnostics.errors.map((e) => `${e.policyId}: ${describe(e.error)}`), errored);
    }
    return { decision, policies: [...diagnostics.reason].sort(), errors: [] };
  }

  return { check, compile, evaluate };
}
