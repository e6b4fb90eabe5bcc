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

/** The stored body for `event` at `index` and `time`; `hmac` hashes each sensitive value. */
export function entryBody(index: number, time: Date, event: AuditEvent, hmac: (value: string) => string): AuditEntryBody {
  const body: AuditEntryBody = {
    index,
    time: time.toISOString(),
    class_uid: auditClasses[event.class],
    activity_id: event.activityId,
    action: event.action,
    actor: { type: event.actor.type, id: event.actor.id },
    status: event.outcome,
  };
  if (event.source?.ip) body.src_endpoint = { ip: event.source.ip };
  if (event.source?.requestId) body.metadata = { request_id: event.source.requestId };
  if (event.resource) body.resource = { type: event.resource.type, id: event.resource.id };
  if (event.decision) {
    body.decision = { id: event.decision.id, effect: event.decision.effect, policy_ids: [...event.decision.policyIds] };
    if (event.decision.policySetVersion) body.decision.policy_set_version = event.decision.policySetVersion;
  }
  if (event.details && Object.keys(event.details).length > 0) body.details = event.details;
  if (event.sensitive && Object.keys(event.sensitive).length > 0) {
    body.hashed = Object.fromEntries(Object.entries(event.sensitive).map(([name, value]) => [name, hmac(value)]));
  }
  return body;
}

/** The canonical bytes of an entry body (what the leaf hash covers). */
export function entryBytes(body: AuditEntryBody): Buffer {
  return Buffer.from(canonicalize(body), 'utf8');
}
