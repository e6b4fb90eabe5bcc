/**
 * Tool pins, the rug-pull defence: every tool an upstream offers is hashed (SHA-256 of the RFC 8785
 * canonical JSON of its name, title, description, schemas and annotations) and pinned in
 * `mcp_tool_pins`. Under `approve-first` a new tool is `pending` until an admin approves it; under
 * `trust-on-first-use` it is approved as first seen — unless the content screen finds a prompt injection
 * in its text (title, description, the schemas' descriptions: tool poisoning), which leaves it `pending`
 * for an admin, with the findings in the audit entry. A tool whose definition later differs from the one
 * approved is `blocked` until an admin approves the new definition (or rejects the tool); `rejected`
 * stays rejected whatever the upstream sends. Only `approved` tools may be shown to agents.
 *
 * Every new pin, every definition or status change and every admin decision is recorded in the audit
 * log first; when the log cannot record it, nothing is stored and WARDEN_AUDIT_UNAVAILABLE is thrown
 * (the caller hides the upstream's tools: fail closed). Definitions are stored as sent, bounded: one
 * over 256 KiB, or a name offered twice with different definitions, is stored as a placeholder
 * (`withheld`), stays `blocked` and cannot be approved. Calls for one upstream are serialized in this
 * process; across processes the (upstream, tool) key and conditional updates keep rows single and
 * current (a lost race is retried).
 */
import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Kysely, Selectable } from 'kysely';
import { canonicalize, type AuditLog, type JsonValue } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import { auditFirst, type ChangeContext } from '../identity/agents.js';
import type { Database } from '../store/database.js';
import { isUniqueViolation } from '../store/index.js';
import type { ScreenFinding } from '../screen/types.js';
import type { McpToolPinsTable } from '../store/tables-tool-pins.js';
import { exposedToolName } from './catalog.js';
import type { ToolPolicy } from './types.js';
import { upstreamNamePattern } from './upstreams.js';

export type PinStatus = 'approved' | 'pending' | 'blocked' | 'rejected';
export const pinStatuses: readonly PinStatus[] = ['approved', 'pending', 'blocked', 'rejected'];

export interface ToolPin {
  readonly upstream: string;
  /** The upstream's own tool name. */
  readonly tool: string;
  /** The exposed name, `<upstream>__<tool>`. */
  readonly name: string;
  readonly status: PinStatus;
  /** SHA-256 (hex) of the definition seen last. */
  readonly hash: string;
  /** Hash of the definition last approved; null if never approved. */
  readonly approvedHash: string | null;
  /** The definition seen last, as the upstream sent it (a placeholder when it was withheld). */
  readonly definition: Tool;
  readonly approvedDefinition: Tool | null;
  readonly firstSeenAt: number;
  readonly updatedAt: number;
}

export interface ToolPins {
  /**
   * Records what `upstream` offers now and returns, for each offered tool, its status keyed by its
   * EXPOSED name (`<upstream>__<tool>`, `ToolPin.name`). A tool whose exposed name the catalog cannot
   * expose (not 1..64 letters, digits, `_`, `-`) is not pinned and not in the map. WARDEN_AUDIT_UNAVAILABLE
   * when the audit log fails (nothing stored).
   */
  observe(upstream: string, policy: ToolPolicy, tools: readonly Tool[]): Promise<Map<string, PinStatus>>;
  /** Pins by upstream, then tool. */
  list(options?: { upstream?: string; status?: PinStatus }): Promise<ToolPin[]>;
  /** WARDEN_NOT_FOUND for an unknown pin. */
  get(upstream: string, tool: string): Promise<ToolPin>;
  /**
   * Approves the CURRENT definition (approvedHash = hash, status approved), audited first
   * (`mcp.tool.approve`, with both hashes). WARDEN_CONFLICT when `expectedHash` is given and is not the
   * current hash (the definition changed since the admin looked), or the definition was withheld.
   */
  approve(upstream: string, tool: string, ctx: ChangeContext, expectedHash?: string): Promise<ToolPin>;
  /** Status rejected, whatever the upstream sends later; audited first (`mcp.tool.reject`). */
  reject(upstream: string, tool: string, ctx: ChangeContext): Promise<ToolPin>;
  /** `listener` hears the upstream of every new pin and status change; returns the unsubscribe function. */
  onChange(listener: (upstream: string) => void): () => void;
}

export interface ToolPinsOptions {
  readonly db: Kysely<Database>;
  readonly audit: Pick<AuditLog, 'append'>;
  /** Screens a definition's text (`definitionText`) as tool output; prompt-injection findings keep a new tool pending. */
  readonly inspect?: (text: string) => readonly ScreenFinding[];
  readonly now?: () => number;
}

/** The text of a definition that reaches the model: title, description and every `description` in its schemas. */
export function definitionText(tool: Tool): string {
  const parts: string[] = [];
  if (typeof tool.title === 'string') parts.push(tool.title);
  if (typeof tool.description === 'string') parts.push(tool.description);
  const walk = (value: unknown, depth: number): void => {
    if (depth > 32 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      if ((key === 'description' || key === 'title') && typeof item === 'string') parts.push(item);
      else walk(item, depth + 1);
    }
  };
  walk(tool.inputSchema, 0);
  walk(tool.outputSchema, 0);
  return parts.join('\n');
}

/** The largest definition stored (bytes of its JSON); a larger one is withheld and blocked. */
export const MAX_DEFINITION_BYTES = 256 * 1024;
/** The exposed-name rule of the catalog. */
const EXPOSED_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const HASH = /^[0-9a-f]{64}$/;
const GATEWAY: ChangeContext = { actor: { type: 'system', id: 'mcp-gateway' } };
/** The fields the hash covers, in the order a diff lists them. */
const PINNED_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/** SHA-256 (hex) of the RFC 8785 canonical JSON of `{name, title?, description?, inputSchema, outputSchema?, annotations?}`. */
export function toolDefinitionHash(tool: Tool): string {
  const pinned: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS) if (tool[field] !== undefined) pinned[field] = tool[field];
  return createHash('sha256').update(canonicalize(pinned), 'utf8').digest('hex');
}

/**
 * The top-level fields that differ between two definitions (compared as canonical JSON; a field
 * absent on one side differs from any value): the pinned fields first, in their order, then others by name.
 */
export function changedToolFields(approved: Tool | null, current: Tool): string[] {
  const a = (approved ?? {}) as Record<string, unknown>;
  const c = current as Record<string, unknown>;
  const same = (x: unknown, y: unknown) => (x === undefined || y === undefined ? x === y : canonicalize(x) === canonicalize(y));
  const fields = new Set([...Object.keys(a), ...Object.keys(c)]);
  const order = (f: string) => (PINNED_FIELDS as readonly string[]).indexOf(f);
  return [...fields]
    .filter((f) => !same(a[f], c[f]))
    .sort((x, y) => {
      const [ox, oy] = [order(x), order(y)];
      if (ox !== -1 || oy !== -1) return (ox === -1 ? Infinity : ox) - (oy === -1 ? Infinity : oy);
      return x < y ? -1 : 1;
    });
}

interface Offered {
  readonly tool: string;
  readonly hash: string;
  readonly definition: string;
  readonly withheld: string | null;
}

/** One entry per offered name: the definition as sent, or a placeholder when it is too large or ambiguous. */
function offered(upstream: string, tools: readonly Tool[]): Offered[] {
  const byName = new Map<string, Tool[]>();
  for (const tool of tools) {
    if (typeof tool?.name !== 'string' || !EXPOSED_NAME.test(exposedToolName(upstream, tool.name))) continue;
    byName.set(tool.name, [...(byName.get(tool.name) ?? []), tool]);
  }
  return [...byName].map(([name, versions]) => {
    const hashes = [...new Set(versions.map(toolDefinitionHash))].sort();
    if (hashes.length > 1) {
      const hash = createHash('sha256').update(canonicalize(hashes), 'utf8').digest('hex');
      const placeholder = { name, description: `(offered ${versions.length} times with different definitions)`, inputSchema: { type: 'object' } };
      return { tool: name, hash, definition: JSON.stringify(placeholder), withheld: 'duplicate' };
    }
    const definition = JSON.stringify(versions[0]);
    if (Buffer.byteLength(definition, 'utf8') > MAX_DEFINITION_BYTES) {
      const placeholder = { name, description: '(definition too large)', inputSchema: { type: 'object' } };
      return { tool: name, hash: hashes[0]!, definition: JSON.stringify(placeholder), withheld: 'too-large' };
    }
    return { tool: name, hash: hashes[0]!, definition, withheld: null };
  });
}

function toPin(row: Selectable<McpToolPinsTable>): ToolPin {
  return {
    upstream: row.upstream,
    tool: row.tool,
    name: exposedToolName(row.upstream, row.tool),
    status: row.status as PinStatus,
    hash: row.hash,
    approvedHash: row.approved_hash,
    definition: JSON.parse(row.definition) as Tool,
    approvedDefinition: row.approved_definition === null ? null : (JSON.parse(row.approved_definition) as Tool),
    firstSeenAt: Number(row.first_seen_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The status `row` (or a new tool) takes when `seen` is offered now. */
function nextStatus(row: Selectable<McpToolPinsTable> | undefined, seen: Offered, policy: ToolPolicy): PinStatus {
  if (row?.status === 'rejected') return 'rejected';
  if (seen.withheld !== null) return 'blocked';
  if (row === undefined) return policy === 'trust-on-first-use' ? 'approved' : 'pending';
  if (row.status === 'pending') return 'pending';
  return row.approved_hash === seen.hash ? 'approved' : 'blocked';
}

function notFound(upstream: string, tool: string): WardenError {
  return new WardenError('WARDEN_NOT_FOUND', `MCP tool ${exposedToolName(upstream, tool)} not found`, { details: { server: upstream, tool } });
}

/** The upstream was removed between the read and the write (its pins go with it). */
function isForeignKeyViolation(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** A conditional write found the row changed by someone else; the whole observe is retried. */
class LostRace extends Error {}

export function createToolPins({ db, audit, inspect, now = Date.now }: ToolPinsOptions): ToolPins {
  /** Prompt-injection findings in a new definition (none without an inspector or for a withheld one). */
  const poisoning = (offer: Offered): { type: string; score: number }[] =>
    inspect === undefined || offer.withheld !== null
      ? []
      : inspect(definitionText(JSON.parse(offer.definition) as Tool))
          .filter((f) => f.category === 'prompt_injection')
          .map((f) => ({ type: f.type, score: f.score }));
  const listeners = new Set<(upstream: string) => void>();
  const notify = (upstream: string): void => {
    for (const listener of listeners) {
      try {
        listener(upstream);
      } catch {
        // A failing listener must not undo a committed change or starve the other listeners.
      }
    }
  };
  /** Per-upstream queue: observe, approve and reject of one upstream run one at a time. */
  const queues = new Map<string, Promise<unknown>>();
  const serialized = <T>(upstream: string, work: () => Promise<T>): Promise<T> => {
    const previous = queues.get(upstream) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.catch(() => undefined);
    queues.set(upstream, tail);
    void tail.then(() => {
      if (queues.get(upstream) === tail) queues.delete(upstream);
    });
    return result;
  };

  const row = (upstream: string, tool: string) =>
    typeof upstream === 'string' && upstreamNamePattern.test(upstream) && typeof tool === 'string' && EXPOSED_NAME.test(exposedToolName(upstream, tool))
      ? db.selectFrom('mcp_tool_pins').selectAll().where('upstream', '=', upstream).where('tool', '=', tool).executeTakeFirst()
      : Promise.resolve(undefined);
  const get = async (upstream: string, tool: string): Promise<ToolPin> => {
    const found = await row(upstream, tool);
    if (found === undefined) throw notFound(upstream, tool);
    return toPin(found);
  };

  const observeOnce = async (upstream: string, policy: ToolPolicy, seen: readonly Offered[]): Promise<{ statuses: Map<string, PinStatus>; changed: boolean }> => {
    const existing = new Map((await db.selectFrom('mcp_tool_pins').selectAll().where('upstream', '=', upstream).execute()).map((r) => [r.tool, r]));
    const statuses = new Map<string, PinStatus>();
    const writes: { old: Selectable<McpToolPinsTable> | undefined; next: Selectable<McpToolPinsTable> }[] = [];
    const events: Parameters<typeof auditFirst>[2][] = [];
    const at = now();
    let changed = false;
    for (const offer of seen) {
      const old = existing.get(offer.tool);
      let status = nextStatus(old, offer, policy);
      // Trust on first use does not extend to a definition that carries instructions for the model.
      const findings = old === undefined && status === 'approved' ? poisoning(offer) : [];
      if (findings.length > 0) status = 'pending';
      statuses.set(exposedToolName(upstream, offer.tool), status);
      const resource = { type: 'mcp_tool', id: exposedToolName(upstream, offer.tool) };
      const withheld: Record<string, JsonValue> = offer.withheld === null ? {} : { withheld: offer.withheld };
      if (old === undefined) {
        const approved = status === 'approved';
        writes.push({
          old,
          next: {
            upstream,
            tool: offer.tool,
            status,
            hash: offer.hash,
            approved_hash: approved ? offer.hash : null,
            definition: offer.definition,
            approved_definition: approved ? offer.definition : null,
            withheld: offer.withheld,
            first_seen_at: at,
            updated_at: at,
          },
        });
        events.push({
          activityId: 1,
          action: 'mcp.tool.discovered',
          resource,
          details: { server: upstream, tool: offer.tool, hash: offer.hash, status, policy, ...withheld, ...(findings.length > 0 ? { findings } : {}) },
        });
        changed = true;
      } else if (old.hash !== offer.hash || old.status !== status || old.withheld !== offer.withheld) {
        writes.push({ old, next: { ...old, status, hash: offer.hash, definition: offer.definition, withheld: offer.withheld, updated_at: at } });
        events.push({
          activityId: 3,
          action: 'mcp.tool.changed',
          resource,
          details: { server: upstream, tool: offer.tool, from: old.status, to: status, previousHash: old.hash, hash: offer.hash, approvedHash: old.approved_hash, ...withheld },
        });
        changed ||= old.status !== status;
      }
    }
    if (writes.length === 0) return { statuses, changed };
    // Audit first, all of it (one group commit); any failure stores nothing.
    await Promise.all(events.map((event) => auditFirst(audit, GATEWAY, event)));
    await db.transaction().execute(async (trx) => {
      for (const { old, next } of writes) {
        if (old === undefined) {
          await trx.insertInto('mcp_tool_pins').values(next).execute();
          continue;
        }
        const { upstream: _u, tool: _t, first_seen_at: _f, ...fields } = next;
        const updated = await trx
          .updateTable('mcp_tool_pins')
          .set(fields)
          .where('upstream', '=', upstream)
          .where('tool', '=', old.tool)
          .where('hash', '=', old.hash)
          .where('status', '=', old.status)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) throw new LostRace();
      }
    });
    return { statuses, changed };
  };

  /** Reads the pin, audits `event`, then applies `fields` only if the pin still has the hash and status read. */
  const decide = async (
    upstream: string,
    tool: string,
    ctx: ChangeContext,
    decision: (pin: Selectable<McpToolPinsTable>) => { fields: Partial<McpToolPinsTable>; action: string; details: Record<string, JsonValue> },
  ): Promise<ToolPin> =>
    serialized(upstream, async () => {
      const old = await row(upstream, tool);
      if (old === undefined) throw notFound(upstream, tool);
      const { fields, action, details } = decision(old);
      await auditFirst(audit, ctx, {
        activityId: 3,
        action,
        resource: { type: 'mcp_tool', id: exposedToolName(upstream, tool) },
        details: { server: upstream, tool, from: old.status, ...details },
      });
      const updated = await db
        .updateTable('mcp_tool_pins')
        .set({ ...fields, updated_at: now() })
        .where('upstream', '=', upstream)
        .where('tool', '=', tool)
        .where('hash', '=', old.hash)
        .where('status', '=', old.status)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) {
        throw new WardenError('WARDEN_CONFLICT', `MCP tool ${exposedToolName(upstream, tool)} changed meanwhile; review it again`, { details: { server: upstream, tool } });
      }
      notify(upstream);
      return get(upstream, tool);
    });

  return {
    get,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async observe(upstream, policy, tools) {
      if (typeof upstream !== 'string' || !upstreamNamePattern.test(upstream)) throw new WardenError('WARDEN_NOT_FOUND', 'MCP server not found', { details: { name: String(upstream).slice(0, 64) } });
      const seen = offered(upstream, tools);
      return serialized(upstream, async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            const { statuses, changed } = await observeOnce(upstream, policy, seen);
            if (changed) notify(upstream);
            return statuses;
          } catch (err) {
            // Another process pinned or changed one of these tools between our read and write: read again.
            if (isForeignKeyViolation(err)) throw new WardenError('WARDEN_NOT_FOUND', `MCP server ${upstream} not found`, { details: { name: upstream }, cause: err });
            if (!(err instanceof LostRace || isUniqueViolation(err))) throw err;
            if (attempt === 3) throw new WardenError('WARDEN_STORE_CONFLICT', `the tool pins of ${upstream} kept changing; try again`, { cause: err });
          }
        }
      });
    },

    async list(options = {}) {
      let query = db.selectFrom('mcp_tool_pins').selectAll();
      if (options.upstream !== undefined) query = query.where('upstream', '=', options.upstream);
      if (options.status !== undefined) query = query.where('status', '=', options.status);
      return (await query.orderBy('upstream').orderBy('tool').execute()).map(toPin);
    },

    approve(upstream, tool, ctx, expectedHash) {
      return decide(upstream, tool, ctx, (pin) => {
        if (expectedHash !== undefined && (!HASH.test(expectedHash) || expectedHash !== pin.hash)) {
          throw new WardenError('WARDEN_CONFLICT', `the definition of ${exposedToolName(upstream, tool)} is no longer the one with hash ${String(expectedHash).slice(0, 64)}; review it again`, {
            details: { server: upstream, tool, hash: pin.hash },
          });
        }
        if (pin.withheld !== null) {
          throw new WardenError('WARDEN_CONFLICT', `the definition of ${exposedToolName(upstream, tool)} was withheld (${pin.withheld}) and cannot be approved`, {
            details: { server: upstream, tool, withheld: pin.withheld },
          });
        }
        return {
          fields: { status: 'approved', approved_hash: pin.hash, approved_definition: pin.definition },
          action: 'mcp.tool.approve',
          details: { to: 'approved', hash: pin.hash, previousApprovedHash: pin.approved_hash },
        };
      });
    },

    reject(upstream, tool, ctx) {
      return decide(upstream, tool, ctx, (pin) => ({ fields: { status: 'rejected' }, action: 'mcp.tool.reject', details: { to: 'rejected', hash: pin.hash, approvedHash: pin.approved_hash } }));
    },
  };
}
