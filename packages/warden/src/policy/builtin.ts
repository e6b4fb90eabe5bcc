/**
 * The built-in policy set: the admin API's role matrix as Cedar policies, versioned and read-only, in
 * code. It is compiled once with the same engine and schema as operator policies but never stored or
 * replaced by them, so no applied set can lock the admins out or widen their rights. `admin` may do
 * everything; `security` manages agents, policies, keys, upstreams and secrets (and may ask for decisions); `auditor` reads
 * the audit log, agents and policies; `pdp` (an enforcement point outside Warden) may only ask for
 * decisions (`admin:authorize` on `Policies`); admins are managed by `admin` only, listed by the human
 * roles, and self-service (logout, own admin tokens) and screening text (`POST /v1/screen`, which changes nothing) are open to the human roles. The built-in authorizer
 * evaluates one admin request (principal `Warden::Admin` with parent `Warden::AdminRole`, a collection
 * `Warden::<Collection>::"all"`) and, when given an audit log, appends the decision with its policy ids
 * and version `builtin-<n>` before it returns (all but allowed reads of the audit log itself) — an append
 * failure throws WARDEN_AUDIT_UNAVAILABLE, and any engine error or unknown request denies.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import type { AdminPrincipal } from '../identity/types.js';
import { createPolicyEngine, type AuthorizationRequest, type CedarEntity, type CompiledPolicySet, type Evaluation, type PolicyEngine, type PolicyFile } from './engine.js';

/** Bumped whenever the built-in policies change; decisions record it as `builtin-<n>`. */
export const BUILTIN_POLICY_VERSION = 3;
export const builtinPolicySetVersion = `builtin-${BUILTIN_POLICY_VERSION}`;

export type AdminAction = 'admin:read' | 'admin:write' | 'admin:authorize' | 'admin:self';
export type AdminCollection = 'Agents' | 'Policies' | 'Keys' | 'Audit' | 'Admins' | 'Upstreams' | 'Secrets' | 'Screen';
/** What an admin request does to which collection. */
export interface AdminRequest {
  readonly action: AdminAction;
  readonly collection: AdminCollection;
}

const a = (id: AdminAction) => `Warden::Action::"${id}"`;
const role = (name: string) => `principal in Warden::AdminRole::"${name}"`;
const humans = `${role('admin')} || ${role('security')} || ${role('auditor')}`;
const readWrite = `action in [${a('admin:read')}, ${a('admin:write')}]`;

const adminText = `@id("builtin.admin-all")
permit(principal in Warden::AdminRole::"admin", action in [${a('admin:read')}, ${a('admin:write')}, ${a('admin:authorize')}, ${a('admin:self')}], resource);

@id("builtin.admins-list")
permit(principal, action == ${a('admin:read')}, resource is Warden::Admins) when { ${humans} };

@id("builtin.self-service")
permit(principal, action == ${a('admin:self')}, resource is Warden::Admins) when { ${humans} };

@id("builtin.screen")
permit(principal, action == ${a('admin:read')}, resource is Warden::Screen) when { ${humans} };
`;
const securityText = `@id("builtin.security-agents")
permit(principal in Warden::AdminRole::"security", ${readWrite}, resource is Warden::Agents);

@id("builtin.security-policies")
permit(principal in Warden::AdminRole::"security", action in [${a('admin:read')}, ${a('admin:write')}, ${a('admin:authorize')}], resource is Warden::Policies);

@id("builtin.security-keys")
permit(principal in Warden::AdminRole::"security", ${readWrite}, resource is Warden::Keys);

@id("builtin.security-upstreams")
permit(principal in Warden::AdminRole::"security", ${readWrite}, resource is Warden::Upstreams);

@id("builtin.security-secrets")
permit(principal in Warden::AdminRole::"security", ${readWrite}, resource is Warden::Secrets);
`;
const auditorText = `@id("builtin.auditor-audit")
permit(principal in Warden::AdminRole::"auditor", action == ${a('admin:read')}, resource is Warden::Audit);

@id("builtin.auditor-agents")
permit(principal in Warden::AdminRole::"auditor", action == ${a('admin:read')}, resource is Warden::Agents);

@id("builtin.auditor-policies")
permit(principal in Warden::AdminRole::"auditor", action == ${a('admin:read')}, resource is Warden::Policies);

@id("builtin.auditor-upstreams")
permit(principal in Warden::AdminRole::"auditor", action == ${a('admin:read')}, resource is Warden::Upstreams);
`;
const pdpText = `@id("builtin.pdp-authorize")
permit(principal in Warden::AdminRole::"pdp", action == ${a('admin:authorize')}, resource is Warden::Policies);
`;

/** The built-in policies (read-only; shown by `warden policies list --builtin`). */
export const builtinPolicyFiles: readonly PolicyFile[] = Object.freeze(
  [
    { name: 'builtin/admin.cedar', text: adminText },
    { name: 'builtin/security.cedar', text: securityText },
    { name: 'builtin/auditor.cedar', text: auditorText },
    { name: 'builtin/pdp.cedar', text: pdpText },
  ].map((file) => Object.freeze(file)),
);

/** Compiles the built-in set (version BUILTIN_POLICY_VERSION); throws WARDEN_POLICY_INVALID if the schema rejects it. */
export function compileBuiltinPolicies(engine: PolicyEngine): CompiledPolicySet {
  return engine.compile(BUILTIN_POLICY_VERSION, builtinPolicyFiles);
}

/** One built-in decision. */
export interface AdminDecision extends Evaluation {
  readonly decisionId: string;
  /** `builtin-<n>`. */
  readonly policySetVersion: string;
}
export interface BuiltinAuthorizeOptions {
  readonly source?: { ip?: string; requestId?: string };
  /** The route that was asked for (`GET /v1/agents/:name`), recorded with the decision. */
  readonly route?: string;
}
export interface BuiltinAuthorizer {
  readonly set: CompiledPolicySet;
  /** Evaluates (an undefined request denies), audits durably when there is an audit log, and returns the decision. */
  authorize(principal: Pick<AdminPrincipal, 'admin' | 'role'>, request: AdminRequest | undefined, options?: BuiltinAuthorizeOptions): Promise<AdminDecision>;
}
export interface BuiltinAuthorizerOptions {
  /** Defaults to a new engine. */
  readonly engine?: PolicyEngine;
  /** Where decisions are recorded; without it decisions are not audited (tests only). */
  readonly audit?: { append(event: AuditEvent): Promise<unknown> };
  readonly now?: () => number;
}

/** A Cedar `ipaddr` literal Cedar accepts: IPv4-mapped IPv6 as IPv4, no zone id; `0.0.0.0` when unknown. */
export function cedarIp(ip: string | undefined): string {
  if (!ip) return '0.0.0.0';
  const bare = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return mapped?.[1] ?? bare;
}

/** The Cedar context of an admin request: time of day (UTC), source address, no risk. */
export function adminContext(at: number, ip: string | undefined): Record<string, unknown> {
  const date = new Date(at);
  return { hour: date.getUTCHours(), weekday: date.getUTCDay(), sourceIp: cedarIp(ip), riskScore: 0, findings: { categories: [], highestScore: 0 } };
}

/** The principal, its role and the collection, as the Cedar entities of one admin request. */
export function adminEntities(principal: Pick<AdminPrincipal, 'admin' | 'role'>, collection: AdminCollection): CedarEntity[] {
  const roleRef = { type: 'Warden::AdminRole', id: principal.role };
  return [
    { uid: { type: 'Warden::Admin', id: principal.admin }, attrs: { role: principal.role }, parents: [roleRef] },
    { uid: roleRef, attrs: {}, parents: [] },
    { uid: { type: `Warden::${collection}`, id: 'all' }, attrs: {}, parents: [] },
  ];
}

/**
 * Allowed reads of the audit log are the one decision not appended to it: recording them would make
 * the log grow with every read of itself (a tail or a live verify would never see a stable end). Denied
 * attempts to read it are recorded like every other decision.
 */
function unrecorded(request: AdminRequest | undefined, decision: Evaluation): boolean {
  return decision.decision === 'allow' && request?.action === 'admin:read' && request.collection === 'Audit';
}

export function createBuiltinAuthorizer(options: BuiltinAuthorizerOptions = {}): BuiltinAuthorizer {
  const engine = options.engine ?? createPolicyEngine();
  const now = options.now ?? Date.now;
  const { audit } = options;
  const set = compileBuiltinPolicies(engine);

  const evaluate = (principal: Pick<AdminPrincipal, 'admin' | 'role'>, request: AdminRequest, ip: string | undefined): Evaluation => {
    const cedarRequest: AuthorizationRequest = {
      principal: { type: 'Warden::Admin', id: principal.admin },
      action: { type: 'Warden::Action', id: request.action },
      resource: { type: `Warden::${request.collection}`, id: 'all' },
      context: adminContext(now(), ip),
    };
    try {
      return engine.evaluate(set, cedarRequest, adminEntities(principal, request.collection));
    } catch (err) {
      return { decision: 'deny', policies: [], errors: [`evaluation failed: ${String(err)}`] };
    }
  };

  return {
    set,
    async authorize(principal, request, opts = {}) {
      const evaluation = request ? evaluate(principal, request, opts.source?.ip) : { decision: 'deny' as const, policies: [], errors: ['no admin resource for this route'] };
      const decision: AdminDecision = {
        decision: evaluation.decision,
        policies: [...evaluation.policies],
        errors: [...evaluation.errors],
        decisionId: randomUUID(),
        policySetVersion: builtinPolicySetVersion,
      };
      if (!audit || unrecorded(request, decision)) return decision;
      const event: AuditEvent = {
        class: 'api_activity',
        activityId: 99,
        action: request?.action ?? 'admin:unknown',
        actor: { type: 'admin', id: principal.admin },
        resource: request ? { type: `Warden::${request.collection}`, id: 'all' } : { type: 'route', id: opts.route ?? 'unknown' },
        decision: { id: decision.decisionId, effect: decision.decision, policyIds: decision.policies, policySetVersion: builtinPolicySetVersion },
        outcome: decision.decision === 'allow' ? 'success' : 'failure',
        details: { role: principal.role, ...(opts.route ? { route: opts.route } : {}), ...(decision.errors.length > 0 ? { errors: decision.errors } : {}) },
      };
      if (opts.source) event.source = opts.source;
      try {
        await audit.append(event);
      } catch (err) {
        throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'Could not record the authorization decision', { cause: err });
      }
      return decision;
    },
  };
}
