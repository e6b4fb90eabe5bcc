/**
 * The change gate: replay recent audited decisions against a proposed policy set before it is applied.
 * Every authorizer decision entry carries a `details.replay` record (principal, action and resource refs,
 * the context without its sensitive fields, and the entities the caller supplied); `readRecordedDecisions`
 * walks the audit log backwards and parses them, and `dryRun` compiles the proposed files (invalid →
 * WARDEN_POLICY_INVALID), re-resolves principal and resource through the entity providers as they are
 * now (recorded entities fill gaps only, as in the authorizer), evaluates each request and reports the
 * decisions that would flip. Tool arguments and encryption contexts are stored only as HMACs, so
 * decisions that had them are evaluated with those fields absent and counted as `approximate`.
 */
import type { AuditLog } from '../audit/index.js';
import type { AuthorizationRequest, CedarEntity, EntityRef, PolicyEngine, PolicyFile, PolicyLink } from './engine.js';
import type { EntityProvider } from './entities.js';

/** Context fields stored only as HMACs (key in `hashed`: `context.<field>`). */
export const SENSITIVE_CONTEXT_FIELDS = ['arguments', 'encryptionContext'] as const;
/** Most decisions one dry run replays (and its default). */
export const DRY_RUN_MAX_LIMIT = 10_000;

export interface RecordedDecision {
  index: number;
  time: string;
  decisionId: string;
  effect: 'allow' | 'deny';
  policies: string[];
  request: AuthorizationRequest;
  /** Entities the caller supplied with the original request. */
  entities: CedarEntity[];
  /** Sensitive context fields the original request had (not replayable). */
  omitted: string[];
}
export interface RecordedDecisions {
  decisions: RecordedDecision[];
  /** Decision entries in the scanned range without a replay record (other authorizers, older format, retained away). */
  unreplayable: number;
}
export interface Flip {
  decisionId: string;
  index: number;
  time: string;
  request: AuthorizationRequest;
  oldPolicies: string[];
  newPolicies: string[];
  /** The original request had sensitive context fields; they were absent in the replay. */
  approximate: boolean;
}
export interface DryRunReport {
  replayed: number;
  skipped: number;
  approximate: number;
  flips: { allowToDeny: Flip[]; denyToAllow: Flip[] };
}
export interface DryRunOptions {
  engine: Pick<PolicyEngine, 'compile' | 'evaluate'>;
  audit: Pick<AuditLog, 'size' | 'entries'>;
  proposed: readonly PolicyFile[];
  /** The active template links; those whose template the proposed files still define are kept, as `apply` does. */
  links?: readonly PolicyLink[];
  /** How many recent decisions to replay (default and maximum 10,000). */
  limit?: number;
  providers: readonly EntityProvider[];
}

const READ_CHUNK = 1000;
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isRef = (v: unknown): v is EntityRef => isRecord(v) && typeof v['type'] === 'string' && typeof v['id'] === 'string';
const refKey = (ref: EntityRef): string => `${ref.type}::${JSON.stringify(ref.id)}`;

/** Parses one entry body into a recorded decision; undefined when it is not a decision, null when not replayable. */
export function parseRecordedDecision(index: number, body: string | null): RecordedDecision | null | undefined {
  if (body === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isRecord(parsed) || !isRecord(parsed['decision'])) return undefined;
  const decision = parsed['decision'];
  const replay = isRecord(parsed['details']) ? parsed['details']['replay'] : undefined;
  if (!isRecord(replay) || !isRef(replay['principal']) || !isRef(replay['action']) || !isRef(replay['resource']) || !isRecord(replay['context'])) return null;
  const hashed = isRecord(parsed['hashed']) ? Object.keys(parsed['hashed']) : [];
  const entities = Array.isArray(replay['entities']) ? (replay['entities'] as unknown[]).filter((e): e is CedarEntity => isRecord(e) && isRef(e['uid'])) : [];
  return {
    index,
    time: typeof parsed['time'] === 'string' ? parsed['time'] : '',
    decisionId: String(decision['id']),
    effect: decision['effect'] === 'allow' ? 'allow' : 'deny',
    policies: Array.isArray(decision['policy_ids']) ? decision['policy_ids'].map(String) : [],
    request: { principal: replay['principal'], action: replay['action'], resource: replay['resource'], context: replay['context'] },
    entities: entities.map((e) => ({ uid: e.uid, attrs: isRecord(e.attrs) ? e.attrs : {}, parents: Array.isArray(e.parents) ? e.parents : [], ...(isRecord(e.tags) ? { tags: e.tags } : {}) })),
    omitted: SENSITIVE_CONTEXT_FIELDS.filter((f) => hashed.includes(`context.${f}`)),
  };
}

/**
 * The last `limit` replayable decisions of the log, newest first, reading at most `scanLimit` entries.
 * Decisions without a replay record (e.g. the built-in admin authorizer's) do not count toward `limit`.
 */
export async function readRecordedDecisions(audit: Pick<AuditLog, 'size' | 'entries'>, limit: number, scanLimit = Math.max(limit * 10, 50_000)): Promise<RecordedDecisions> {
  const out: RecordedDecisions = { decisions: [], unreplayable: 0 };
  let end = await audit.size();
  let scanned = 0;
  while (end > 0 && out.decisions.length < limit && scanned < scanLimit) {
    const start = Math.max(0, end - READ_CHUNK);
    const entries = await audit.entries(start, end - start);
    scanned += end - start;
    for (let i = entries.length - 1; i >= 0 && out.decisions.length < limit; i--) {
      const entry = entries[i];
      if (!entry) continue;
      const recorded = parseRecordedDecision(entry.index, entry.body);
      if (recorded === null) out.unreplayable++;
      else if (recorded !== undefined) out.decisions.push(recorded);
    }
    end = start;
  }
  return out;
}

/** Resolves entities the way the authorizer does, memoizing provider lookups for one run. */
export function entityResolver(providers: readonly EntityProvider[]): (request: AuthorizationRequest, extra: readonly CedarEntity[]) => Promise<CedarEntity[] | undefined> {
  const byType = new Map(providers.map((p) => [p.type, p]));
  const memo = new Map<string, Promise<CedarEntity[] | undefined>>();
  const lookup = (ref: EntityRef): Promise<CedarEntity[] | undefined> => {
    const key = refKey(ref);
    let found = memo.get(key);
    if (!found) {
      const provider = byType.get(ref.type);
      found = provider
        ? provider.get(ref.id).then((s) => (s ? [s.entity, ...s.ancestors] : undefined), () => undefined)
        : Promise.resolve([]);
      memo.set(key, found);
    }
    return found;
  };
  return async (request, extra) => {
    const out: CedarEntity[] = [];
    const seen = new Set<string>();
    const add = (e: CedarEntity): void => {
      if (seen.has(refKey(e.uid))) return;
      seen.add(refKey(e.uid));
      out.push(e);
    };
    for (const ref of [request.principal, request.resource]) {
      const slice = await lookup(ref);
      if (slice === undefined) return undefined;
      slice.forEach(add);
    }
    extra.forEach(add);
    return out;
  };
}

/** Replays recent decisions against `proposed`; nothing is applied. */
export async function dryRun({ engine, audit, proposed, links = [], limit = DRY_RUN_MAX_LIMIT, providers }: DryRunOptions): Promise<DryRunReport> {
  const templates = engine.compile(0, proposed).templates;
  const kept = links.filter((link) => templates?.has(link.templateId));
  const set = engine.compile(0, proposed, kept);
  const wanted = Math.max(0, Math.min(Math.trunc(limit), DRY_RUN_MAX_LIMIT));
  const { decisions, unreplayable } = await readRecordedDecisions(audit, wanted);
  const resolve = entityResolver(providers);
  const report: DryRunReport = { replayed: 0, skipped: unreplayable, approximate: 0, flips: { allowToDeny: [], denyToAllow: [] } };
  for (const recorded of decisions) {
    const entities = await resolve(recorded.request, recorded.entities);
    if (entities === undefined) {
      report.skipped++;
      continue;
    }
    const approximate = recorded.omitted.length > 0;
    const evaluation = engine.evaluate(set, recorded.request, entities);
    report.replayed++;
    if (approximate) report.approximate++;
    if (evaluation.decision === recorded.effect) continue;
    const flip: Flip = {
      decisionId: recorded.decisionId,
      index: recorded.index,
      time: recorded.time,
      request: recorded.request,
      oldPolicies: recorded.policies,
      newPolicies: evaluation.policies,
      approximate,
    };
    (recorded.effect === 'allow' ? report.flips.allowToDeny : report.flips.denyToAllow).push(flip);
  }
  return report;
}
