/**
 * The upstream registry: the MCP servers Warden forwards to, in the `mcp_upstreams` table. Every field
 * is validated before anything is written (names without `_`, so `<server>__<tool>` splits one way;
 * stdio commands, args and env; Streamable HTTP URLs — https, or http to loopback only, never with
 * credentials — and headers; timeouts; `secret:` references). Env and header values are stored as
 * given: they are meant to hold references (`secret:NAME`, `{{secret:NAME}}`), resolved only when Warden
 * talks upstream, so real secrets belong in `warden secrets`. Every change is recorded in the audit log
 * first (naming env and header keys, never their values) and then every `onChange` listener hears the
 * upstream's name, so the gateway reconnects or drops it.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditLog, JsonValue } from '../audit/index.js';
import { WardenError, isWardenError } from '../errors/index.js';
import { auditFirst, type ChangeContext } from '../identity/agents.js';
import type { Database } from '../store/database.js';
import { isUniqueViolation } from '../store/index.js';
import { secretReferences } from '../secrets/index.js';
import type { McpUpstreamsTable } from '../store/tables-upstreams.js';
import type { Isolation, ToolPolicy, Upstream, UpstreamTransport } from './types.js';

/** 1..32 lower-case letters, digits and dashes; no `_`, so `<server>__<tool>` is unambiguous. */
export const upstreamNamePattern = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const envKeyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An RFC 7230 `token` (a header field name). */
export const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers Warden sets itself on the upstream connection; an upstream may not override them. */
export const reservedHeaders: readonly string[] = ['host', 'content-length', 'transfer-encoding', 'connection', 'mcp-session-id'];
export const isolations: readonly Isolation[] = ['shared', 'per-agent'];
export const toolPolicies: readonly ToolPolicy[] = ['approve-first', 'trust-on-first-use'];

export const MAX_COMMAND = 4096;
export const MAX_ARGS = 64;
export const MAX_ARG = 4096;
export const MAX_ENV = 64;
export const MAX_HEADERS = 64;
export const MAX_VALUE = 8192;
export const MAX_URL = 4096;
export const timeoutRange = { min: 100, max: 600_000, default: 30_000 } as const;
export const restartBackoffRange = { min: 100, max: 60_000, default: 1000 } as const;

const loopbackHosts: readonly string[] = ['127.0.0.1', '[::1]', 'localhost'];
// eslint-disable-next-line no-control-regex -- the point is to refuse control characters
const controlChars = /[\u0000-\u001f\u007f]/;

export interface NewUpstream {
  readonly name: string;
  readonly transport: UpstreamTransport;
  /** Per-request timeout upstream: 100..600000 ms, default 30000. */
  readonly timeoutMs?: number;
  /** First restart delay of a crashed stdio upstream: 100..60000 ms, default 1000. */
  readonly restartBackoffMs?: number;
  /** Default `shared`. */
  readonly isolation?: Isolation;
  /** Default `approve-first`. */
  readonly toolPolicy?: ToolPolicy;
}

export interface UpstreamRegistry {
  /** Registers an upstream; WARDEN_CONFLICT when the name is taken, WARDEN_VALIDATION_FAILED for a bad field. */
  add(input: NewUpstream, ctx: ChangeContext): Promise<Upstream>;
  /** Every upstream, by name. */
  list(): Promise<Upstream[]>;
  get(name: string): Promise<Upstream | undefined>;
  /** The upstream; WARDEN_NOT_FOUND when there is none (`get` returns undefined instead). */
  require(name: string): Promise<Upstream>;
  remove(name: string, ctx: ChangeContext): Promise<void>;
  /** `listener` hears the name of every upstream added or removed; returns the unsubscribe function. */
  onChange(listener: (name: string) => void): () => void;
}

export interface UpstreamRegistryOptions {
  readonly db: Kysely<Database>;
  readonly audit: Pick<AuditLog, 'append'>;
}

function invalid(message: string, field: string): WardenError {
  return new WardenError('WARDEN_VALIDATION_FAILED', message, { details: { field } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`${field} has an unknown field ${JSON.stringify(key)}`, `${field}.${key}`);
  }
}

export function checkUpstreamName(name: unknown): string {
  if (typeof name !== 'string' || !upstreamNamePattern.test(name)) {
    throw invalid('upstream name must be 1..32 lower-case letters, digits and dashes, starting and ending with a letter or digit', 'name');
  }
  return name;
}

/**
 * Refuses a malformed secret reference in `value` (a whole value `secret:NAME`, or `{{secret:NAME}}`
 * anywhere inside), by the same rules `secrets/references.ts` resolves them with.
 */
export function checkSecretReferences(value: string, field: string): void {
  try {
    secretReferences(value);
  } catch (err) {
    if (isWardenError(err, 'WARDEN_VALIDATION_FAILED')) {
      throw invalid(`${field} holds a malformed secret reference (secret:NAME or {{secret:NAME}}, NAME a lower-case slug)`, field);
    }
    throw err;
  }
}

function checkValue(value: unknown, field: string, allowed: (text: string) => boolean, rule: string): string {
  if (typeof value !== 'string' || value.length > MAX_VALUE || !allowed(value)) throw invalid(`${field} must be at most ${MAX_VALUE} characters ${rule}`, field);
  checkSecretReferences(value, field);
  return value;
}

function checkStdio(transport: Record<string, unknown>): UpstreamTransport {
  checkKeys(transport, ['kind', 'command', 'args', 'env'], 'transport');
  const { command, args = [], env = {} } = transport;
  if (typeof command !== 'string' || command.trim().length === 0 || command.length > MAX_COMMAND || controlChars.test(command)) {
    throw invalid(`command must be 1..${MAX_COMMAND} characters without control characters`, 'transport.command');
  }
  if (!Array.isArray(args) || args.length > MAX_ARGS) throw invalid(`args must be a list of at most ${MAX_ARGS}`, 'transport.args');
  for (const arg of args as unknown[]) {
    // A NUL cannot be passed to a process; any other character can.
    if (typeof arg !== 'string' || arg.length > MAX_ARG || arg.includes('\u0000')) throw invalid(`every arg must be text of at most ${MAX_ARG} characters`, 'transport.args');
  }
  if (!isPlainObject(env)) throw invalid('env must be an object', 'transport.env');
  const keys = Object.keys(env);
  if (keys.length > MAX_ENV) throw invalid(`at most ${MAX_ENV} env entries`, 'transport.env');
  const checked: Record<string, string> = {};
  for (const key of keys) {
    if (!envKeyPattern.test(key)) throw invalid(`env key ${JSON.stringify(key)} is not a valid variable name`, 'transport.env');
    checked[key] = checkValue(env[key], `transport.env.${key}`, (v) => !v.includes('\u0000'), 'without NUL');
  }
  return { kind: 'stdio', command, args: [...(args as string[])], env: checked };
}

function checkUrl(url: unknown): string {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL || /\s/.test(url) || controlChars.test(url)) {
    throw invalid(`url must be 1..${MAX_URL} characters without whitespace or control characters`, 'transport.url');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('url is not a valid URL', 'transport.url');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalid('url must not carry credentials; use a header with a secret reference', 'transport.url');
  }
  const loopback = loopbackHosts.includes(parsed.hostname);
  if (!(parsed.protocol === 'https:' || (parsed.protocol === 'http:' && loopback))) {
    throw invalid('url must be https:// (http:// only to 127.0.0.1, [::1] or localhost)', 'transport.url');
  }
  return url;
}

function checkHttp(transport: Record<string, unknown>): UpstreamTransport {
  checkKeys(transport, ['kind', 'url', 'headers'], 'transport');
  const url = checkUrl(transport.url);
  const headers = transport.headers ?? {};
  if (!isPlainObject(headers)) throw invalid('headers must be an object', 'transport.headers');
  const names = Object.keys(headers);
  if (names.length > MAX_HEADERS) throw invalid(`at most ${MAX_HEADERS} headers`, 'transport.headers');
  const seen = new Set<string>();
  const checked: Record<string, string> = {};
  for (const name of names) {
    const lower = name.toLowerCase();
    if (!headerNamePattern.test(name)) throw invalid(`header name ${JSON.stringify(name)} is not a valid token`, 'transport.headers');
    if (reservedHeaders.includes(lower)) throw invalid(`header ${name} is set by Warden and cannot be configured`, 'transport.headers');
    if (seen.has(lower)) throw invalid(`header ${name} is given twice`, 'transport.headers');
    seen.add(lower);
    checked[name] = checkValue(headers[name], `transport.headers.${name}`, (v) => !/[\r\n]/.test(v) && !v.includes('\u0000'), 'without CR, LF or NUL');
  }
  return { kind: 'http', url, headers: checked };
}

/** The validated, normalized transport (args, env and headers default to empty). */
export function checkTransport(transport: unknown): UpstreamTransport {
  if (!isPlainObject(transport)) throw invalid('transport must be an object', 'transport');
  if (transport.kind === 'stdio') return checkStdio(transport);
  if (transport.kind === 'http') return checkHttp(transport);
  throw invalid('transport.kind must be stdio or http', 'transport.kind');
}

function checkInteger(value: unknown, range: { min: number; max: number }, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw invalid(`${field} must be a whole number of milliseconds, ${range.min}..${range.max}`, field);
  }
  return value;
}

function checkChoice<T extends string>(value: unknown, choices: readonly T[], field: string): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) throw invalid(`${field} must be one of ${choices.join(', ')}`, field);
  return value as T;
}

function toUpstream(row: Selectable<McpUpstreamsTable>): Upstream {
  return {
    name: row.name,
    transport: JSON.parse(row.transport) as UpstreamTransport,
    timeoutMs: Number(row.timeout_ms),
    restartBackoffMs: Number(row.restart_backoff_ms),
    isolation: row.isolation as Isolation,
    toolPolicy: row.tool_policy as ToolPolicy,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** What the audit entry says about a transport: never an env or header value, nor a URL's query. */
function transportDetails(transport: UpstreamTransport): Record<string, JsonValue> {
  if (transport.kind === 'stdio') {
    return { transport: 'stdio', command: transport.command, argCount: transport.args.length, envKeys: Object.keys(transport.env) };
  }
  const url = new URL(transport.url);
  return { transport: 'http', url: `${url.origin}${url.pathname}`, headerNames: Object.keys(transport.headers) };
}

function notFound(name: string): WardenError {
  return new WardenError('WARDEN_NOT_FOUND', `MCP server ${name} not found`, { details: { name } });
}

function conflict(name: string): WardenError {
  return new WardenError('WARDEN_CONFLICT', `MCP server ${name} already exists`, { details: { name } });
}

export function createUpstreamRegistry({ db, audit }: UpstreamRegistryOptions): UpstreamRegistry {
  const listeners = new Set<(name: string) => void>();
  const notify = (name: string): void => {
    for (const listener of listeners) {
      try {
        listener(name);
      } catch {
        // A failing listener must not undo a committed change or starve the other listeners.
      }
    }
  };
  const get = async (name: string): Promise<Upstream | undefined> => {
    if (typeof name !== 'string' || !upstreamNamePattern.test(name)) return undefined;
    const row = await db.selectFrom('mcp_upstreams').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toUpstream(row);
  };
  const require = async (name: string): Promise<Upstream> => {
    checkUpstreamName(name);
    const upstream = await get(name);
    if (upstream === undefined) throw notFound(name);
    return upstream;
  };

  return {
    get,
    require,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async add(input, ctx) {
      if (!isPlainObject(input)) throw invalid('an upstream must be an object', 'name');
      const name = checkUpstreamName(input.name);
      const transport = checkTransport(input.transport);
      const timeoutMs = checkInteger(input.timeoutMs ?? timeoutRange.default, timeoutRange, 'timeoutMs');
      const restartBackoffMs = checkInteger(input.restartBackoffMs ?? restartBackoffRange.default, restartBackoffRange, 'restartBackoffMs');
      const isolation = checkChoice(input.isolation ?? 'shared', isolations, 'isolation');
      const toolPolicy = checkChoice(input.toolPolicy ?? 'approve-first', toolPolicies, 'toolPolicy');
      if ((await get(name)) !== undefined) throw conflict(name);
      const now = Date.now();
      const row: Selectable<McpUpstreamsTable> = {
        name,
        transport: JSON.stringify(transport),
        timeout_ms: timeoutMs,
        restart_backoff_ms: restartBackoffMs,
        isolation,
        tool_policy: toolPolicy,
        created_at: now,
        updated_at: now,
      };
      await auditFirst(audit, ctx, {
        activityId: 1,
        action: 'mcp.upstream.add',
        resource: { type: 'mcp_upstream', id: name },
        details: { ...transportDetails(transport), timeoutMs, restartBackoffMs, isolation, toolPolicy },
      });
      try {
        await db.insertInto('mcp_upstreams').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(name);
        throw err;
      }
      notify(name);
      return toUpstream(row);
    },

    async list() {
      const rows = await db.selectFrom('mcp_upstreams').selectAll().orderBy('name').execute();
      return rows.map(toUpstream);
    },

    async remove(name, ctx) {
      await require(name);
      await auditFirst(audit, ctx, { activityId: 4, action: 'mcp.upstream.remove', resource: { type: 'mcp_upstream', id: name } });
      const deleted = await db.deleteFrom('mcp_upstreams').where('name', '=', name).executeTakeFirst();
      if (deleted.numDeletedRows === 0n) throw notFound(name);
      notify(name);
    },
  };
}
