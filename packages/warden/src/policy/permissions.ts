/**
 * The access review: what one agent may do, per known resource and action. `permissionsOf` evaluates
 * the agent against every resource with Cedar's partial evaluation, every context field left
 * `unknown`: a decision of `allow` with no errored policy (and an allow under a neutral context) means
 * `always`; no decision (some residual depends on the context) or an allow in any of a few representative
 * contexts (working hours vs night, low vs high risk, findings vs none) means `conditional`; everything
 * else is denied and omitted. Should partial evaluation fail, the representative contexts decide alone.
 * "Known resources" today are only those the caller passes in and those recorded in recent audited
 * decisions (`recordedResources`); the tool and key catalogs will widen this with later issues.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { AuditLog } from '../audit/index.js';
import { readRecordedDecisions } from './dry-run.js';
import type { CedarEntity, CompiledPolicySet, EntityRef, PolicyEngine } from './engine.js';
import type { EntitySlice } from './entities.js';

export type Access = 'always' | 'conditional';
export interface Permission {
  resource: EntityRef;
  action: string;
  access: Access;
  /** Policies that allow it (always: the satisfied permits; conditional: those that may apply). */
  policies: string[];
}
export interface PermissionsReport {
  agent: string;
  /** 0 when no policy set is active (then nothing is allowed). */
  policySetVersion: number;
  resources: number;
  permissions: Permission[];
}
export interface PermissionsOfOptions {
  engine: Pick<PolicyEngine, 'evaluate'>;
  set: CompiledPolicySet | undefined;
  agent: Pick<EntitySlice, 'entity' | 'ancestors'>;
  resources: readonly CedarEntity[];
  /** Actions to review per resource type (default: every agent action the schema allows on that type). */
  actions?: Readonly<Record<string, readonly string[]>>;
}

const KMS = ['kms:encrypt', 'kms:decrypt', 'kms:generate_data_key', 'kms:generate_data_key_plaintext', 'kms:rewrap', 'kms:sign', 'kms:verify', 'kms:hmac', 'kms:hmac_verify'];
/** Agent actions by resource type, as the Warden schema declares them. */
export const agentActionsByResourceType: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'Warden::Server': ['mcp:list_tools'],
  'Warden::Tool': ['mcp:list_tools', 'mcp:call_tool'],
  'Warden::Key': KMS,
  'Warden::Route': ['http:request'],
});

/** The neutral context: working hours on a weekday, local address, no risk, no findings. */
export const neutralContext: Readonly<Record<string, unknown>> = Object.freeze({
  hour: 12,
  weekday: 2,
  sourceIp: '127.0.0.1',
  riskScore: 0,
  findings: { categories: [], highestScore: 0 },
});

/** Working hours vs night, low vs high risk, no findings vs severe findings (8 contexts). */
export function representativeContexts(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [hour, weekday] of [[12, 2], [2, 6]] as const) {
    for (const riskScore of [0, 90]) {
      for (const findings of [{ categories: [], highestScore: 0 }, { categories: ['pii', 'secret', 'prompt_injection'], highestScore: 90 }]) {
        out.push({ ...neutralContext, hour, weekday, riskScore, findings });
      }
    }
  }
  return out;
}

const unknown = (name: string) => ({ __extn: { fn: 'unknown', arg: name } });
const UNKNOWN_CONTEXT = Object.fromEntries(
  ['hour', 'weekday', 'sourceIp', 'riskScore', 'findings', 'arguments', 'encryptionContext'].map((f) => [f, unknown(f)]),
);
const refKey = (ref: EntityRef): string => `${ref.type}::${JSON.stringify(ref.id)}`;

type Residual = { decision: 'allow' | 'deny' | null; satisfied: string[]; mayApply: string[]; errored: number } | undefined;

/** Partial evaluation with an unknown context; undefined when Cedar cannot do it here. */
function partial(set: CompiledPolicySet, principal: EntityRef, action: EntityRef, resource: EntityRef, entities: CedarEntity[]): Residual {
  try {
    const answer = cedar.isAuthorizedPartial({
      principal,
      action,
      resource,
      context: UNKNOWN_CONTEXT,
      policies: { staticPolicies: Object.fromEntries(set.policies) },
      entities: entities as cedar.EntityJson[],
    });
    if (answer.type === 'failure') return undefined;
    const r = answer.response;
    // Residuals name every policy that was not dropped, with its effect (satisfied ones included).
    const permits = (ids: string[]) => ids.filter((id) => r.residuals[id]?.effect === 'permit').sort();
    return { decision: r.decision, satisfied: permits(r.satisfied), mayApply: permits(r.mayBeDetermining), errored: r.errored.length };
  } catch {
    return undefined;
  }
}

/** Per resource and action, whether the agent is always or conditionally allowed (denied ones omitted). */
export function permissionsOf({ engine, set, agent, resources, actions = agentActionsByResourceType }: PermissionsOfOptions): PermissionsReport {
  const report: PermissionsReport = { agent: agent.entity.uid.id, policySetVersion: set?.version ?? 0, resources: 0, permissions: [] };
  if (!set) return report;
  const unique = new Map<string, CedarEntity>();
  for (const r of resources) if (!unique.has(refKey(r.uid))) unique.set(refKey(r.uid), r);
  report.resources = unique.size;
  const contexts = representativeContexts();
  for (const resource of unique.values()) {
    const entities = [agent.entity, ...agent.ancestors, ...(refKey(resource.uid) === refKey(agent.entity.uid) ? [] : [resource])];
    for (const name of actions[resource.uid.type] ?? []) {
      const action = { type: 'Warden::Action', id: name };
      const request = { principal: agent.entity.uid, action, resource: resource.uid };
      const neutral = engine.evaluate(set, { ...request, context: { ...neutralContext } }, entities);
      const residual = partial(set, agent.entity.uid, action, resource.uid, entities);
      if (residual?.decision === 'allow' && residual.errored === 0 && neutral.decision === 'allow') {
        report.permissions.push({ resource: resource.uid, action: name, access: 'always', policies: neutral.policies });
        continue;
      }
      const allowedIn = contexts.map((context) => engine.evaluate(set, { ...request, context }, entities)).filter((e) => e.decision === 'allow');
      const allowed = allowedIn.length > 0 || neutral.decision === 'allow';
      if (!allowed && !(residual?.decision === null && residual.mayApply.length > 0)) continue;
      if (residual === undefined && allowedIn.length === contexts.length) {
        report.permissions.push({ resource: resource.uid, action: name, access: 'always', policies: neutral.policies });
        continue;
      }
      const policies = new Set([...(residual?.mayApply ?? []), ...allowedIn.flatMap((e) => e.policies), ...(neutral.decision === 'allow' ? neutral.policies : [])]);
      report.permissions.push({ resource: resource.uid, action: name, access: 'conditional', policies: [...policies].sort() });
    }
  }
  return report;
}

/**
 * Resources recorded in the last `recent` audited decisions: the caller-supplied entity when one was
 * recorded, else a bare entity (no attributes) for the reference.
 */
export async function recordedResources(audit: Pick<AuditLog, 'size' | 'entries'>, recent: number): Promise<CedarEntity[]> {
  const { decisions } = await readRecordedDecisions(audit, recent);
  const out = new Map<string, CedarEntity>();
  for (const d of decisions) {
    const key = refKey(d.request.resource);
    // Newest first: the newest recorded entity wins; a bare reference only until one is recorded.
    const recorded = d.entities.find((e) => refKey(e.uid) === key);
    const known = out.get(key);
    if (recorded && (known === undefined || Object.keys(known.attrs).length === 0)) out.set(key, recorded);
    else if (known === undefined) out.set(key, { uid: d.request.resource, attrs: {}, parents: [] });
  }
  return [...out.values()];
}
