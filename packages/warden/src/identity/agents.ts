/**
 * The agent directory: create, read, list, update, disable/enable/quarantine and delete agents in the
 * `agents` table, validating every field (slug names, roles, labels, clearance 0..4, the agent's own
 * gateway rate limits: rate (0, 100000] per second, burst an integer 1..100000). Every change is
 * recorded in the audit log before it is made — if the entry cannot be made durable the change is
 * refused (WARDEN_AUDIT_UNAVAILABLE) and nothing is written — and afterwards every `onChange` listener
 * hears the agent's name, so token caches drop it. The directory implements `AgentLookup`.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditEvent, AuditLog } from '../audit/index.js';
import { WardenError, isWardenError } from '../errors/index.js';
import type { Database } from '../store/database.js';
import { isUniqueViolation } from '../store/store-errors.js';
import type { AgentsTable } from '../store/tables-agents.js';
import type { Agent, AgentBucketLimit, AgentLookup, AgentRateLimits, AgentStatus } from './types.js';

export const agentNamePattern = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const rolePattern = /^[a-z0-9][a-z0-9._:-]{0,62}$/;
export const labelKeyPattern = /^[a-z0-9][a-z0-9._/-]{0,62}$/;
export const placePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const agentStatuses: readonly AgentStatus[] = ['active', 'disabled', 'quarantined'];
export const MAX_ROLES = 32;
export const MAX_LABELS = 64;
export const MAX_LIST = 1000;
/** Highest rate (tokens per second) of an agent's own rate limit. */
export const MAX_AGENT_RATE = 100_000;
/** Highest burst (bucket size) of an agent's own rate limit. */
export const MAX_AGENT_BURST = 100_000;
// eslint-disable-next-line no-control-regex -- the point is to refuse control characters
const controlChars = /[\u0000-\u001f\u007f]/;

/** Who made a change, and optionally where from; `receipt` hears the index of the audit entry. */
export interface ChangeContext {
  readonly actor: AuditEvent['actor'];
  readonly source?: AuditEvent['source'];
  readonly receipt?: (index: number) => void;
}

export interface NewAgent {
  readonly name: string;
  readonly owner: string;
  readonly roles?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly environment?: string | null;
  readonly region?: string | null;
  readonly clearance?: number;
  readonly requireDpop?: boolean;
  /** The agent's own gateway rate limits; null (on update: clears them) uses the config's defaults. */
  readonly rateLimits?: AgentRateLimits | null;
}

export type AgentUpdate = Partial<Omit<NewAgent, 'name'>>;

export interface ListAgentsOptions {
  readonly status?: AgentStatus;
  readonly owner?: string;
  /** Every given label must match exactly. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Names strictly after this one (the `next` of the previous page). */
  readonly after?: string;
  /** 1..1000, default 100. */
  readonly limit?: number;
}

export interface AgentPage {
  readonly agents: Agent[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

export interface AgentDirectory extends AgentLookup {
  create(agent: NewAgent, ctx: ChangeContext): Promise<Agent>;
  /** The agent; WARDEN_NOT_FOUND when there is none (`get` returns undefined instead). */
  require(name: string): Promise<Agent>;
  list(options?: ListAgentsOptions): Promise<AgentPage>;
  update(name: string, update: AgentUpdate, ctx: ChangeContext): Promise<Agent>;
  disable(name: string, ctx: ChangeContext): Promise<Agent>;
  enable(name: string, ctx: ChangeContext): Promise<Agent>;
  quarantine(name: string, ctx: ChangeContext): Promise<Agent>;
  delete(name: string, ctx: ChangeContext): Promise<void>;
  /** Tells every listener that `name` changed (used by the credential store on credential changes). */
  notifyChange(name: string): void;
}

export interface AgentDirectoryOptions {
  readonly db: Kysely<Database>;
  readonly audit: Pick<AuditLog, 'append'>;
}

function invalid(message: string, field?: string): WardenError {
  return new WardenError('WARDEN_VALIDATION_FAILED', message, field === undefined ? undefined : { details: { field } });
}

function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || controlChars.test(value)) {
    throw invalid(`${field} must be 1..${max} characters without control characters`, field);
  }
  return value;
}

export function checkAgentName(name: unknown): string {
  if (typeof name !== 'string' || !agentNamePattern.test(name)) {
    throw invalid('agent name must be 2..63 lower-case letters, digits and dashes, starting with a letter or digit', 'name');
  }
  return name;
}

function checkRoles(roles: readonly unknown[]): string[] {
  if (roles.length > MAX_ROLES) throw invalid(`at most ${MAX_ROLES} roles`, 'roles');
  for (const role of roles) {
    if (typeof role !== 'string' || !rolePattern.test(role)) throw invalid(`role ${JSON.stringify(role)} is not valid`, 'roles');
  }
  return [...new Set(roles as string[])].sort();
}

function checkLabels(labels: Readonly<Record<string, unknown>>): Record<string, string> {
  const keys = Object.keys(labels).sort();
  if (keys.length > MAX_LABELS) throw invalid(`at most ${MAX_LABELS} labels`, 'labels');
  const checked: Record<string, string> = {};
  for (const key of keys) {
    if (!labelKeyPattern.test(key)) throw invalid(`label key ${JSON.stringify(key)} is not valid`, 'labels');
    checked[key] = checkText(labels[key], `label ${key}`, 256);
  }
  return checked;
}

function checkPlace(value: unknown, field: string): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || !placePattern.test(value)) throw invalid(`${field} must be a lower-case slug`, field);
  return value;
}

function checkClearance(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 4) {
    throw invalid('clearance must be an integer 0..4', 'clearance');
  }
  return value;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function checkBucket(value: unknown, field: string): AgentBucketLimit {
  if (!isObject(value)) throw invalid(`${field} must be {rate, burst}`, field);
  for (const key of Object.keys(value)) if (key !== 'rate' && key !== 'burst') throw invalid(`${field} has an unknown key ${JSON.stringify(key)}`, field);
  const { rate, burst } = value;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > MAX_AGENT_RATE) {
    throw invalid(`${field}.rate must be tokens per second, more than 0 and at most ${MAX_AGENT_RATE}`, `${field}.rate`);
  }
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > MAX_AGENT_BURST) {
    throw invalid(`${field}.burst must be an integer 1..${MAX_AGENT_BURST}`, `${field}.burst`);
  }
  return { rate, burst };
}

/** The `rate_limits` column: canonical JSON, or null for none (an empty object is none). */
function checkRateLimits(value: unknown): string | null {
  if (value === null) return null;
  if (!isObject(value)) throw invalid('rateLimits must be an object or null', 'rateLimits');
  for (const key of Object.keys(value)) {
    if (key !== 'perAgent' && key !== 'perAgentTool') throw invalid(`rateLimits has an unknown key ${JSON.stringify(key)}`, 'rateLimits');
  }
  const checked: { perAgent?: AgentBucketLimit; perAgentTool?: AgentBucketLimit } = {};
  if (value.perAgent !== undefined) checked.perAgent = checkBucket(value.perAgent, 'rateLimits.perAgent');
  if (value.perAgentTool !== undefined) checked.perAgentTool = checkBucket(value.perAgentTool, 'rateLimits.perAgentTool');
  return Object.keys(checked).length === 0 ? null : JSON.stringify(checked);
}

/** The validated columns an update (or creation) sets. */
function checkFields(input: AgentUpdate): Partial<Selectable<AgentsTable>> {
  const row: Partial<Selectable<AgentsTable>> = {};
  if (input.owner !== undefined) row.owner = checkText(input.owner, 'owner', 256);
  if (input.roles !== undefined) {
    if (!Array.isArray(input.roles)) throw invalid('roles must be a list', 'roles');
    row.roles = JSON.stringify(checkRoles(input.roles));
  }
  if (input.labels !== undefined) {
    if (typeof input.labels !== 'object' || input.labels === null || Array.isArray(input.labels)) {
      throw invalid('labels must be an object', 'labels');
    }
    row.labels = JSON.stringify(checkLabels(input.labels));
  }
  if (input.environment !== undefined) row.environment = checkPlace(input.environment, 'environment');
  if (input.region !== undefined) row.region = checkPlace(input.region, 'region');
  if (input.clearance !== undefined) row.clearance = checkClearance(input.clearance);
  if (input.requireDpop !== undefined) {
    if (typeof input.requireDpop !== 'boolean') throw invalid('requireDpop must be a boolean', 'requireDpop');
    row.require_dpop = input.requireDpop ? 1 : 0;
  }
  if (input.rateLimits !== undefined) row.rate_limits = checkRateLimits(input.rateLimits);
  return row;
}

export function toAgent(row: Selectable<AgentsTable>): Agent {
  return {
    name: row.name,
    owner: row.owner,
    roles: JSON.parse(row.roles) as string[],
    labels: JSON.parse(row.labels) as Record<string, string>,
    environment: row.environment,
    region: row.region,
    clearance: Number(row.clearance),
    status: row.status as AgentStatus,
    requireDpop: Number(row.require_dpop) === 1,
    rateLimits: row.rate_limits === null ? null : (JSON.parse(row.rate_limits) as AgentRateLimits),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function notFound(name: string): WardenError {
  return new WardenError('WARDEN_NOT_FOUND', `agent ${name} not found`, { details: { name } });
}

/**
 * Appends `event` and resolves once it is durable; any failure becomes WARDEN_AUDIT_UNAVAILABLE so the
 * caller refuses the change it was about to make.
 */
export async function auditFirst(audit: Pick<AuditLog, 'append'>, ctx: ChangeContext, event: Omit<AuditEvent, 'actor' | 'source' | 'class' | 'outcome'>): Promise<void> {
  let index: number;
  try {
    ({ index } = await audit.append({
      class: 'entity_management',
      actor: ctx.actor,
      outcome: 'success',
      ...(ctx.source === undefined ? {} : { source: ctx.source }),
      ...event,
    }));
  } catch (cause) {
    if (isWardenError(cause, 'WARDEN_AUDIT_UNAVAILABLE')) throw cause;
    throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'the audit log is unavailable; the change was refused', { cause });
  }
  ctx.receipt?.(index);
}

export function createAgentDirectory({ db, audit }: AgentDirectoryOptions): AgentDirectory {
  const listeners = new Set<(name: string) => void>();
  const notifyChange = (name: string): void => {
    for (const listener of listeners) {
      try {
        listener(name);
      } catch {
        // A failing listener must not undo a committed change or starve the other listeners.
      }
    }
  };
  const get = async (name: string): Promise<Agent | undefined> => {
    if (typeof name !== 'string' || !agentNamePattern.test(name)) return undefined;
    const row = await db.selectFrom('agents').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toAgent(row);
  };
  const require = async (name: string): Promise<Agent> => {
    checkAgentName(name);
    const agent = await get(name);
    if (agent === undefined) throw notFound(name);
    return agent;
  };

  const change = async (
    name: string,
    fields: Partial<Selectable<AgentsTable>>,
    action: string,
    details: Record<string, string | number | boolean | null>,
    ctx: ChangeContext,
  ): Promise<Agent> => {
    await require(name);
    await auditFirst(audit, ctx, { activityId: 3, action, resource: { type: 'agent', id: name }, details });
    const result = await db
      .updateTable('agents')
      .set({ ...fields, updated_at: Date.now() })
      .where('name', '=', name)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound(name);
    notifyChange(name);
    return require(name);
  };

  const setStatus = (status: AgentStatus, action: string) => (name: string, ctx: ChangeContext) =>
    change(name, { status }, action, { status }, ctx);

  return {
    get,
    require,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notifyChange,

    async create(input, ctx) {
      const name = checkAgentName(input.name);
      if (input.owner === undefined) throw invalid('owner is required', 'owner');
      const fields = checkFields({ roles: [], labels: {}, environment: null, region: null, clearance: 0, requireDpop: false, rateLimits: null, ...input });
      if ((await get(name)) !== undefined) throw new WardenError('WARDEN_CONFLICT', `agent ${name} already exists`, { details: { name } });
      const now = Date.now();
      const row = { ...(fields as Omit<Selectable<AgentsTable>, 'name'>), rate_limits: fields.rate_limits ?? null, name, status: 'active', created_at: now, updated_at: now };
      await auditFirst(audit, ctx, {
        activityId: 1,
        action: 'agent.create',
        resource: { type: 'agent', id: name },
        details: { owner: row.owner, roles: row.roles, labels: row.labels, clearance: row.clearance, ...(row.rate_limits === null ? {} : { rate_limits: row.rate_limits }) },
      });
      try {
        await db.insertInto('agents').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw new WardenError('WARDEN_CONFLICT', `agent ${name} already exists`, { details: { name } });
        throw err;
      }
      notifyChange(name);
      return toAgent(row);
    },

    async list(options = {}) {
      const limit = options.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) throw invalid(`limit must be 1..${MAX_LIST}`, 'limit');
      if (options.status !== undefined && !agentStatuses.includes(options.status)) throw invalid('unknown status', 'status');
      const labels = options.labels === undefined ? [] : Object.entries(options.labels);
      const agents: Agent[] = [];
      let after = options.after;
      // Labels are JSON text, filtered here; read in batches until the page is full or the table ends.
      for (;;) {
        let query = db.selectFrom('agents').selectAll().orderBy('name').limit(labels.length === 0 ? limit + 1 : 500);
        if (after !== undefined) query = query.where('name', '>', after);
        if (options.status !== undefined) query = query.where('status', '=', options.status);
        if (options.owner !== undefined) query = query.where('owner', '=', options.owner);
        const rows = await query.execute();
        for (const row of rows) {
          const agent = toAgent(row);
          if (labels.every(([k, v]) => agent.labels[k] === v)) agents.push(agent);
          if (agents.length > limit) {
            agents.length = limit;
            return { agents, next: agents[limit - 1]!.name };
          }
        }
        if (labels.length === 0 || rows.length < 500) return { agents };
        after = rows[rows.length - 1]!.name;
      }
    },

    async update(name, update, ctx) {
      const fields = checkFields(update);
      if (Object.keys(fields).length === 0) throw invalid('nothing to update');
      const details: Record<string, string | number | boolean | null> = {};
      for (const [key, value] of Object.entries(fields)) details[key] = value;
      return change(name, fields, 'agent.update', details, ctx);
    },
    disable: setStatus('disabled', 'agent.disable'),
    enable: setStatus('active', 'agent.enable'),
    quarantine: setStatus('quarantined', 'agent.quarantine'),

    async delete(name, ctx) {
      await require(name);
      await auditFirst(audit, ctx, { activityId: 4, action: 'agent.delete', resource: { type: 'agent', id: name } });
      // Credentials go with the agent (ON DELETE CASCADE); deleted explicitly too, in one transaction.
      const deleted = await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('agent_credentials').where('agent', '=', name).execute();
        return trx.deleteFrom('agents').where('name', '=', name).executeTakeFirst();
      });
      if (deleted.numDeletedRows === 0n) throw notFound(name);
      notifyChange(name);
    },
  };
}
