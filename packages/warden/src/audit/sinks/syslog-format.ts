/**
 * RFC 5424 syslog messages for audit events, and their RFC 6587 §3.4.1 octet-counting frames (the
 * framing RFC 5425 mandates over TLS). Facility 13 ("log audit") is used for every message; the
 * severity follows the OCSF severity_id (informational → 6, medium → 4 warning, ...). The MSG is the
 * OCSF event as JSON with every non-ASCII character escaped (`\uXXXX`), so it is plain ASCII and needs
 * no BOM. STRUCTURED-DATA carries `[warden@32473 index="…" leafHash="…" …]` so a collector can index and
 * de-duplicate without parsing MSG. 32473 is the example Private Enterprise Number of RFC 5612: Warden
 * has no IANA number of its own.
 */
import type { OcsfEvent } from './ocsf.js';

/** Facility 13: log audit. */
export const SYSLOG_FACILITY = 13;
/** The SD-ID of Warden's structured-data element. */
export const WARDEN_SD_ID = 'warden@32473';

export interface SyslogHeader {
  readonly appName: string;
  /** The sender's host name; sanitized to 1–255 printable US-ASCII characters, or NILVALUE. */
  readonly hostname: string;
  readonly procId: string;
}

/** Syslog severity (RFC 5424 §6.2.1) for an OCSF severity_id. */
export function syslogSeverity(severityId: number): number {
  switch (severityId) {
    case 2: // low
      return 5; // notice
    case 3: // medium
      return 4; // warning
    case 4: // high
      return 3; // error
    case 5: // critical
      return 2; // critical
    case 6: // fatal
      return 1; // alert
    default: // 0 unknown, 1 informational, 99 other
      return 6; // informational
  }
}

/** The RFC 5424 message (without framing) for `event`. */
export function formatSyslogMessage(event: OcsfEvent, header: SyslogHeader): string {
  const pri = SYSLOG_FACILITY * 8 + syslogSeverity(event.severity_id);
  const timestamp = event.time === undefined || !Number.isFinite(event.time) ? '-' : new Date(event.time).toISOString();
  const head = [
    `<${pri}>1`,
    timestamp,
    headerField(header.hostname, 255),
    headerField(header.appName, 48),
    headerField(header.procId, 128),
    `ocsf.${event.class_uid}`,
  ].join(' ');
  return `${head} ${structuredData(event)} ${asciiJson(event)}`;
}

/** The octet-counting frame `MSG-LEN SP SYSLOG-MSG` (RFC 6587 §3.4.1) of `message`. */
export function frameOctetCounting(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

function structuredData(event: OcsfEvent): string {
  const warden = event.unmapped.warden;
  const params: [string, string][] = [
    ['index', String(warden.index)],
    ['leafHash', warden.leaf_hash],
  ];
  if (warden.checkpoint !== undefined) {
    params.push(['checkpointSize', String(warden.checkpoint.size)], ['checkpointRoot', warden.checkpoint.root]);
  }
  return `[${WARDEN_SD_ID}${params.map(([name, value]) => ` ${name}="${escapeParamValue(value)}"`).join('')}]`;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): `"`, `\` and `]` are preceded by a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field: printable US-ASCII only, at most `max` characters, NILVALUE when empty. */
function headerField(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return printable === '' ? '-' : printable;
}

/** JSON text with every character outside printable ASCII escaped, which JSON parsers read back unchanged. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
