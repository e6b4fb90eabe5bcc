/**
 * IP addresses. IPv4 comes from the number-token scanner (four dot-separated groups, octets 0-255
 * without leading zeros) and is checked here; IPv6 is found by a linear scanner that starts at each
 * `:` and reads one run of hex digits, colons and dots.
 *
 * Not reported (they identify no one): loopback, unspecified and broadcast addresses, netmasks, and
 * dotted quads that are version numbers, section numbers or OIDs (`version 1.2.3.4`, `v1.2.3.4`,
 * `Chrome/120.0.6099.109`, `section 2.3.2.3`, `OID 1.3.101.110`). Private (RFC 1918) addresses are
 * reported: inside a tool result they still map a network. The RFC 5737 / RFC 3849 documentation
 * ranges are reported with a low score ({@link DOCUMENTATION_SCORE}): they are examples, but labelled
 * data and users still call them IP addresses, and the screener can threshold on the score.
 */
import type { ScreenFinding } from './types.js';
import { isAsciiAlnum } from './pii-number-token.js';

export const IP_SCORE = 0.85;
/** Private, shared and link-local IPv4 (RFC 1918, RFC 6598, RFC 3927): reported, less surely personal. */
export const PRIVATE_IP_SCORE = 0.6;
export const DOCUMENTATION_SCORE = 0.4;
const MASK_OCTETS = new Set([0, 128, 192, 224, 240, 248, 252, 254, 255]);
/** Words after which a dotted quad is a version, a section number or an OID, not an address. */
const NOT_ADDRESS_BEFORE = /(?:version|ver|release|build|firmware|rev|v|section|sec|chapter|clause|oid|rfc|step|figure|table|item|§)\.?\s{0,2}['"`(]?$/i;
const MAX_IPV6_RUN = 45;

function octet(s: string): number {
  if (s.length === 0 || s.length > 3 || (s.length > 1 && s[0] === '0')) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  const v = Number(s);
  return v <= 255 ? v : -1;
}

/** The four octets of a dotted quad, or `undefined`. */
export function parseIpv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    const v = octet(p);
    if (v < 0) return undefined;
    out.push(v);
  }
  return out;
}

/** True for a dotted quad that is a reportable address (not loopback, unspecified, broadcast or a netmask). */
export function isReportableIpv4(octets: readonly number[]): boolean {
  const [a] = octets as [number];
  if (a === 0 || a === 127) return false;
  return !(a === 255 && octets.every((o) => MASK_OCTETS.has(o)));
}

/**
 * True if the dotted quad at `start..end` is a version, section number or OID rather than an address:
 * a word like "version", "section", "OID" just before it, a suffix like `-node.9` or `-rc1` after it,
 * or an `oid`/`type` key right before a quoted value.
 */
export function isNotAddressContext(text: string, start: number, end: number): boolean {
  if (NOT_ADDRESS_BEFORE.test(text.slice(Math.max(0, start - 12), start))) return true;
  return text.charCodeAt(end) === 45 && isAsciiAlnum(text.charCodeAt(end + 1));
}

/** 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16. */
export function isPrivateIpv4(o: readonly number[]): boolean {
  const [a, b] = o as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
    || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254);
}

/** RFC 5737 documentation networks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24). */
export function isDocumentationIpv4(o: readonly number[]): boolean {
  return (o[0] === 192 && o[1] === 0 && o[2] === 2) || (o[0] === 198 && o[1] === 51 && o[2] === 100)
    || (o[0] === 203 && o[1] === 0 && o[2] === 113);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Validates an IPv6 literal (RFC 4291 text forms, optional trailing dotted quad); rejects `::` and `::1`. */
export function isIpv6(s: string): boolean {
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  let body = s;
  let extraGroups = 0;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.') >= 0) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (!v4 || !isReportableIpv4(v4)) return false;
    body = s.slice(0, lastColon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
    extraGroups = 2;
  }
  const halves = dbl >= 0 ? body.split('::') : [body];
  let groups = extraGroups;
  let longest = 0;
  let hasDigit = extraGroups > 0;
  for (const half of halves) {
    if (half === '') continue;
    for (const g of half.split(':')) {
      if (g.length === 0 || g.length > 4) return false;
      for (let i = 0; i < g.length; i++) {
        const c = g.charCodeAt(i);
        if (!isHex(c)) return false;
        if (c <= 57) hasDigit = true;
      }
      longest = Math.max(longest, g.length);
      groups++;
    }
  }
  if (dbl >= 0 ? groups > 7 : groups !== 8) return false;
  // `::1`, `::`, `a::b`, `10:30::`: too little to be an address rather than a token of code or a time.
  return hasDigit && groups >= 2 && longest >= 3;
}

/** Every IPv6 literal with two explicit groups has two colons at most four hex digits apart. */
const COLON_PAIR = /:[0-9A-Fa-f]{0,4}:/g;

function isIpv6RunChar(c: number): boolean {
  return isHex(c) || c === 58 || c === 46;
}

/**
 * Appends IPv6 findings. The regex finds a colon pair; the run of hex digits, colons and dots around it
 * is read once (backwards at most {@link MAX_IPV6_RUN} characters) and the search resumes after it.
 */
export function findIpv6(text: string, out: ScreenFinding[]): void {
  const n = text.length;
  const re = new RegExp(COLON_PAIR);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    let s = m.index;
    while (s > 0 && m.index - s < MAX_IPV6_RUN && isIpv6RunChar(text.charCodeAt(s - 1))) s--;
    let e = m.index + m[0].length;
    while (e < n && isIpv6RunChar(text.charCodeAt(e))) e++;
    re.lastIndex = e;
    let end = e;
    while (end > s && text.charCodeAt(end - 1) === 46) end--;
    if (end - s > MAX_IPV6_RUN) continue;
    if (text.charCodeAt(end - 1) === 58 && text.charCodeAt(end - 2) !== 58) end--;
    const before = s > 0 ? text.charCodeAt(s - 1) : 32;
    const after = e < n ? text.charCodeAt(e) : 32;
    if (isAsciiAlnum(before) || before === 95 || isIpv6RunChar(before) || isAsciiAlnum(after) || after === 95) continue;
    const ip = text.slice(s, end);
    if (!isIpv6(ip)) continue;
    // RFC 3849 documentation prefix 2001:db8::/32.
    const score = /^2001:0{0,3}db8:/i.test(ip) ? DOCUMENTATION_SCORE : IP_SCORE;
    out.push({ category: 'pii', type: 'ip_address', start: s, end, score });
  }
}
