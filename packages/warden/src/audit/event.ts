/**
 * Audit events and entries. An `AuditEvent` is what a module asks to record; an entry is the event as
 * stored: given its index and time, sensitive values replaced by HMACs, field names following OCSF
 * (API Activity 6003, Authentication 3002, Entity Management 3004, Detection Finding 2004), and
 * serialized with RFC 8785 so its leaf hash is reproducible.
 */
import { canonicalize, type JsonValue } from './canonical-json.js';

/** OCSF event classes Warden writes. */
export const auditClasses = {
  api_activity: 6003,
  authentication: 3002,
  entity_management: 3004,
  detection_finding: 2004,
} as const;

export type AuditClass = keyof typeof auditClasses;

/**
 * OCSF activity ids (the same numbers in the classes Warden uses): 1 create / logon, 2 read / logoff,
 * 3 update, 4 delete, 99 other.
 */
export type AuditActivity = 1 | 2 | 3 | 4 | 99;

export interface AuditEvent {
  class: AuditClass;
  activityId: AuditActivity;
  /** Warden's name for what happened, e.g. `barrier.rotate`, `server.start`, `mcp.call_tool`. */
  action: string;
  actor: { type: 'agent' | 'admin' | 'operator' | 'system'; id: string };
  source?: { ip?: string; requestId?: string };
  resource?: { type: string; id: string };
  decision?: { id: string; effect: 'allow' | 'deny'; policyIds: string[]; policySetVersion?: string };
  outcome: 'success' | 'failure';
  /** Non-sensitive details, stored as given. */
  details?: Record<string, JsonValue>;
  /** Sensitive values (tool arguments, encryption context, secrets): stored only as HMAC-SHA256. */
  sensitive?: Record<string, string>;
}

/** The stored form of an entry (the JSON object whose canonical bytes are hashed). */
export interface AuditEntryBody {
  index: number;
  time: string;
  class_uid: number;
  activity_id: number;
  action: string;
  actor: { type: string; id: string };
  src_endpoint?: { ip: string };
  metadata?: { request_id: string };
  resource?: { type: string; id: string };
  decision?: { id: string; effect: string; policy_ids: string[]; policy_set_version?: string };
  status: 'success' | 'failure';
  details?: Record<string, JsonValue>;
  /** name -> `hmac-sha256:<base64>` of the value under the audit HMAC key. */
  hashed?: Record<string, string>;
}

/** An entry as read back from the log. `body` is null once retention has moved it to a bundle. */
export interface AuditEntry {
  index: number;
  leafHash: Buffer;
  body: string | null;
}

/**
 * The stored body for `event` at `index` and `time`; `hmac` hashes each sensitive value. Members are
 * created in canonical (RFC 8785) order, so canonicalization takes its fast path.
 */
export function entryBody(index: number, time: Date, event: AuditEvent, hmac: (value: string) => string): AuditEntryBody {
  const { decision, details, sensitive, source, resource } = event;
  const body: Partial<AuditEntryBody> = {
    action: event.action,
    activity_id: event.activityId,
    actor: { id: event.actor.id, type: event.actor.type },
    class_uid: auditClasses[event.class],
  };
  if (decision) {
    body.decision = { effect: decision.effect, id: decision.id, policy_ids: [...decision.policyIds] };
    if (decision.policySetVersion) body.decision.policy_set_version = decision.policySetVersion;
  }
  if (details && Object.keys(details).length > 0) body.details = details;
  if (sensitive && Object.keys(sensitive).length > 0) {
    const hashed: Record<string, string> = {};
    for (const name of Object.keys(sensitive).sort()) hashed[name] = hmac(sensitive[name]!);
    body.hashed = hashed;
  }
  body.index = index;
  if (source?.requestId) body.metadata = { request_id: source.requestId };
  if (resource) body.resource = { id: resource.id, type: resource.type };
  if (source?.ip) body.src_endpoint = { ip: source.ip };
  body.status = event.outcome;
  body.time = time.toISOString();
  return body as AuditEntryBody;
}

/** The canonical bytes of an entry body (what the leaf hash covers). */
export function entryBytes(body: AuditEntryBody): Buffer {
  return Buffer.from(canonicalize(body), 'utf8');
}
