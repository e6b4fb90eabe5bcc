/**
 * The export form of an audit entry: `toOcsfEvent` maps a stored entry (its RFC 8785 body) to an OCSF
 * 1.1.0 event as SIEMs expect it. The body's fields are kept as stored; OCSF's derived fields are added
 * (category_uid, type_uid, severity_id, status_id, time as epoch milliseconds, metadata.version, product
 * and uid), and `unmapped.warden` carries what a SIEM needs to check the event against the
 * tamper-evident log: the entry index, its leaf hash and, when it covers the entry, the latest signed
 * checkpoint. An entry whose body was removed by retention, or whose body cannot be read, still maps to
 * a (minimal) event, so an export never stalls on one entry.
 */
import type { AuditEntry } from '../event.js';

/** The OCSF schema version Warden's events follow. */
export const OCSF_VERSION = '1.1.0';

/** A signed checkpoint of the log: the tree size it covers, its Merkle root and the signed note. */
export interface SinkCheckpoint {
  readonly size: number;
  readonly root: Buffer;
  readonly note: string;
}

/** `unmapped.warden`: the entry's place in the tamper-evident log. */
export interface WardenUnmapped {
  index: number;
  /** The entry's leaf hash, base64. */
  leaf_hash: string;
  /** The latest checkpoint covering the entry (index < size); absent when none covers it yet. */
  checkpoint?: { size: number; root: string; note: string };
  /** Present (true) when retention removed the body: only the index and leaf hash remain. */
  body_removed?: true;
  /** The stored body when it could not be read as an audit entry (kept verbatim for the verifier). */
  invalid_body?: string;
}

export interface OcsfMetadata {
  version: string;
  product: { name: string; vendor_name: string };
  uid: string;
  [field: string]: unknown;
}

/** One OCSF event as exported. Fields other than the typed ones are the entry body's, as stored. */
export interface OcsfEvent {
  class_uid: number;
  category_uid: number;
  activity_id: number;
  type_uid: number;
  severity_id: number;
  status_id: number;
  /** Epoch milliseconds (OCSF timestamp_t); absent only when the body is gone or unreadable. */
  time?: number;
  metadata: OcsfMetadata;
  unmapped: { warden: WardenUnmapped; [field: string]: unknown };
  [field: string]: unknown;
}

const SEVERITY_INFORMATIONAL = 1;
const SEVERITY_MEDIUM = 3;
const STATUS_SUCCESS = 1;
const STATUS_FAILURE = 2;
/** Status "Unknown", for events whose body is not available. */
const STATUS_UNKNOWN = 0;

/** Maps `entry` to its OCSF event; `checkpoint` is attached only when it covers the entry. */
export function toOcsfEvent(entry: AuditEntry, checkpoint?: SinkCheckpoint): OcsfEvent {
  const warden: WardenUnmapped = { index: entry.index, leaf_hash: entry.leafHash.toString('base64') };
  if (checkpoint !== undefined && entry.index < checkpoint.size) {
    warden.checkpoint = { size: checkpoint.size, root: checkpoint.root.toString('base64'), note: checkpoint.note };
  }
  if (entry.body === null) return minimalEvent(entry.index, { ...warden, body_removed: true });
  const body = parseBody(entry.body);
  if (body === undefined) return minimalEvent(entry.index, { ...warden, invalid_body: entry.body });

  const { index: _index, time, metadata, unmapped, ...fields } = body;
  const classUid = body.class_uid;
  const activityId = body.activity_id;
  const failed = body.status === 'failure' || isDeny(body.decision);
  return {
    ...fields,
    class_uid: classUid,
    category_uid: Math.floor(classUid / 1000),
    activity_id: activityId,
    type_uid: classUid * 100 + activityId,
    severity_id: failed ? SEVERITY_MEDIUM : SEVERITY_INFORMATIONAL,
    status_id: body.status === 'success' ? STATUS_SUCCESS : STATUS_FAILURE,
    time: Date.parse(time),
    metadata: { ...(isObject(metadata) ? metadata : {}), ...baseMetadata(entry.index) },
    unmapped: { ...(isObject(unmapped) ? unmapped : {}), warden },
  };
}

function minimalEvent(index: number, warden: WardenUnmapped): OcsfEvent {
  // OCSF Base Event (class 0), activity and status "Unknown": nothing but the log position is known.
  return {
    class_uid: 0,
    category_uid: 0,
    activity_id: 0,
    type_uid: 0,
    severity_id: SEVERITY_INFORMATIONAL,
    status_id: STATUS_UNKNOWN,
    metadata: baseMetadata(index),
    unmapped: { warden },
  };
}

function baseMetadata(index: number): OcsfMetadata {
  return { version: OCSF_VERSION, product: { name: 'Warden', vendor_name: 'Warden' }, uid: String(index) };
}

interface ParsedBody {
  index?: unknown;
  time: string;
  class_uid: number;
  activity_id: number;
  status: 'success' | 'failure';
  decision?: unknown;
  metadata?: unknown;
  unmapped?: unknown;
  [field: string]: unknown;
}

/** The body as an object with the fields the mapping needs, or undefined when it is not one. */
function parseBody(text: string): ParsedBody | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const { time, class_uid, activity_id, status } = value;
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) return undefined;
  if (!Number.isSafeInteger(class_uid) || !Number.isSafeInteger(activity_id)) return undefined;
  if (status !== 'success' && status !== 'failure') return undefined;
  return value as ParsedBody;
}

function isDeny(decision: unknown): boolean {
  return isObject(decision) && decision.effect === 'deny';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
