/**
 * `warden agents …`: manage agents and their credentials on a running server through the admin API
 * (`/v1/agents`), authenticated with WARDEN_TOKEN or the saved login session. Every command takes
 * `--json`; bad flag values are WARDEN_USAGE (exit 2) before anything is sent. A client secret is
 * printed once, by `credentials add --secret`, and can never be shown again. `permissions NAME` is the
 * access review: what the agent may do to each known resource, always or only in some contexts.
 * `--rate-limit RATE[:BURST]` and `--tool-rate-limit RATE[:BURST]` set the agent's own gateway limits
 * (tokens per second; burst defaults to twice the rate); on update, the one not given keeps its value,
 * and `--clear-rate-limits` returns the agent to the config's defaults.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { WardenError } from '../../errors/index.js';
import { MAX_AGENT_BURST, MAX_AGENT_RATE } from '../../identity/agents.js';
import type { Agent, AgentBucketLimit, AgentRateLimits } from '../../identity/types.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

interface CredentialJson {
  id: string;
  agent: string;
  kind: string;
  kid: string;
  label: string | null;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdAt: number;
  secret?: string;
}

interface PermissionsJson {
  agent: string;
  policySetVersion: number;
  resources: number;
  permissions: { resource: { type: string; id: string }; action: string; access: 'always' | 'conditional'; policies: string[] }[];
}

interface AgentFlags extends ServerFlags {
  json?: boolean;
  owner?: string;
  role?: string[];
  label?: string[];
  region?: string | false;
  environment?: string | false;
  clearance?: string;
  requireDpop?: boolean;
  rateLimit?: string;
  toolRateLimit?: string;
  clearRateLimits?: boolean;
}

const usage = (message: string) => new WardenError('WARDEN_USAGE', message);
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const agentPath = (name: string) => `/v1/agents/${encodeURIComponent(name)}`;
const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** `k=v` pairs to a labels object (WARDEN_USAGE when one has no `=` or an empty key). */
export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw usage(`--label must be key=value, got "${pair}"`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

/**
 * `RATE[:BURST]` to a bucket limit: RATE tokens per second (0 < RATE <= 100000, decimals allowed),
 * BURST a whole number 1..100000, by default twice the rate (at least 1). WARDEN_USAGE otherwise.
 */
export function parseRateLimit(value: string, flag: string): AgentBucketLimit {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(?::(\d+))?$/.exec(value);
  const rate = match ? Number(match[1]) : NaN;
  const burst = match?.[2] === undefined ? Math.min(MAX_AGENT_BURST, Math.max(1, Math.ceil(2 * rate))) : Number(match[2]);
  if (!(rate > 0 && rate <= MAX_AGENT_RATE) || !Number.isInteger(burst) || burst < 1 || burst > MAX_AGENT_BURST) {
    throw usage(`${flag} must be RATE[:BURST], RATE tokens per second (more than 0, at most ${MAX_AGENT_RATE}) and BURST a whole number 1..${MAX_AGENT_BURST}, got "${value}"`);
  }
  return { rate, burst };
}

/** The `rateLimits` the rate-limit flags describe: undefined when none was given, null to clear. */
function rateLimitsBody(flags: AgentFlags): AgentRateLimits | null | undefined {
  if (flags.clearRateLimits === true) {
    if (flags.rateLimit !== undefined || flags.toolRateLimit !== undefined) throw usage('--clear-rate-limits cannot be combined with --rate-limit or --tool-rate-limit');
    return null;
  }
  if (flags.rateLimit === undefined && flags.toolRateLimit === undefined) return undefined;
  return {
    ...(flags.rateLimit === undefined ? {} : { perAgent: parseRateLimit(flags.rateLimit, '--rate-limit') }),
    ...(flags.toolRateLimit === undefined ? {} : { perAgentTool: parseRateLimit(flags.toolRateLimit, '--tool-rate-limit') }),
  };
}

/** The request body the agent flags describe (only the fields that were given). */
function agentBody(flags: AgentFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (flags.owner !== undefined) body.owner = flags.owner;
  if (flags.role !== undefined) body.roles = flags.role;
  if (flags.label !== undefined) body.labels = parseLabels(flags.label);
  if (flags.region !== undefined) body.region = flags.region === false ? null : flags.region;
  if (flags.environment !== undefined) body.environment = flags.environment === false ? null : flags.environment;
  if (flags.clearance !== undefined) {
    if (!/^[0-4]$/.test(flags.clearance)) throw usage(`--clearance must be 0..4, got "${flags.clearance}"`);
    body.clearance = Number(flags.clearance);
  }
  if (flags.requireDpop !== undefined) body.requireDpop = flags.requireDpop;
  const rateLimits = rateLimitsBody(flags);
  if (rateLimits !== undefined) body.rateLimits = rateLimits;
  return body;
}

const describeLimit = (limit: AgentBucketLimit | undefined, scope: string) =>
  limit === undefined ? 'config default' : `${limit.rate}/s, burst ${limit.burst} (${scope})`;

function describeAgent(a: Agent): string[] {
  const labels = Object.entries(a.labels).map(([k, v]) => `${k}=${v}`);
  return [
    `${a.name} (${a.status})`,
    `  owner:        ${a.owner}`,
    `  roles:        ${a.roles.length ? a.roles.join(', ') : '-'}`,
    `  labels:       ${labels.length ? labels.join(', ') : '-'}`,
    `  environment:  ${a.environment ?? '-'}`,
    `  region:       ${a.region ?? '-'}`,
    `  clearance:    ${a.clearance}`,
    `  require DPoP: ${a.requireDpop ? 'yes' : 'no'}`,
    `  rate limit:   ${describeLimit(a.rateLimits?.perAgent, 'per agent')}`,
    `  tool limit:   ${describeLimit(a.rateLimits?.perAgentTool, 'per agent and tool')}`,
    `  created:      ${time(a.createdAt)}, updated ${time(a.updatedAt)}`,
  ];
}

function describeCredential(c: CredentialJson): string {
  const state = c.revokedAt !== null ? `revoked ${time(c.revokedAt)}` : c.expiresAt !== null && c.expiresAt <= Date.now() ? 'expired' : 'current';
  return `${c.id}  ${c.kind.padEnd(13)} ${state}  kid ${c.kid}  label ${c.label ?? '-'}  expires ${time(c.expiresAt)}  last used ${time(c.lastUsedAt)}`;
}

export function agentsCommand(program: Command, ctx: CliContext): void {
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');
  const fields = (command: Command) =>
    command
      .option('--role <role>', 'a role (repeat for several; replaces the list on update)', collect)
      .option('--label <key=value>', 'a label (repeat for several; replaces the labels on update)', collect)
      .option('--environment <env>', 'environment, e.g. prod')
      .option('--region <region>', 'region, e.g. eu')
      .option('--clearance <n>', 'data clearance 0 (public) .. 4 (restricted)')
      .option('--require-dpop', 'only issue and accept DPoP-bound tokens')
      .option('--rate-limit <rate[:burst]>', "the agent's own gateway limit: tokens per second, burst (default 2x rate)")
      .option('--tool-rate-limit <rate[:burst]>', "the agent's own gateway limit per tool: tokens per second, burst (default 2x rate)");
  const print = (flags: { json?: boolean }, agent: Agent) => printResult(ctx.io, flags.json === true, agent, () => describeAgent(agent));

  const agents = program.command('agents').description('manage agents and their credentials');

  server(fields(agents.command('create').description('create an agent').argument('<name>', 'agent name (slug)')))
    .requiredOption('--owner <owner>', 'owning team or person')
    .action(async (name: string, flags: AgentFlags) => {
      const agent = await createClient(flags, ctx).send<Agent>('POST', '/v1/agents', { name, ...agentBody(flags) });
      print(flags, agent);
    });

  server(agents.command('list').description('list agents'))
    .option('--status <status>', 'active, disabled or quarantined')
    .option('--owner <owner>', 'only agents of this owner')
    .option('--label <key=value>', 'only agents with this label (repeatable)', collect)
    .option('--limit <n>', 'page size (1..1000)', '100')
    .option('--after <name>', 'start after this agent (the "next" of the previous page)')
    .action(async (flags: ServerFlags & { json?: boolean; status?: string; owner?: string; label?: string[]; limit: string; after?: string }) => {
      if (!/^\d+$/.test(flags.limit)) throw usage(`--limit must be a whole number, got "${flags.limit}"`);
      const query = new URLSearchParams({ limit: flags.limit });
      if (flags.status !== undefined) query.set('status', flags.status);
      if (flags.owner !== undefined) query.set('owner', flags.owner);
      if (flags.after !== undefined) query.set('after', flags.after);
      for (const [k, v] of Object.entries(parseLabels(flags.label ?? []))) query.append('label', `${k}=${v}`);
      const page = await createClient(flags, ctx).getJson<{ agents: Agent[]; next?: string }>(`/v1/agents?${query.toString()}`);
      printResult(ctx.io, flags.json === true, page, () => [
        ...(page.agents.length === 0 ? ['No agents.'] : page.agents.map((a) => `${a.name.padEnd(24)} ${a.status.padEnd(12)} owner ${a.owner}`)),
        ...(page.next === undefined ? [] : [`More: --after ${page.next}`]),
      ]);
    });

  server(agents.command('show').description("show an agent").argument('<name>', 'agent name')).action(
    async (name: string, flags: AgentFlags) => print(flags, await createClient(flags, ctx).getJson<Agent>(agentPath(name))),
  );

  server(fields(agents.command('update').description("change an agent's fields").argument('<name>', 'agent name')))
    .option('--owner <owner>', 'owning team or person')
    .option('--no-require-dpop', 'accept bearer tokens without DPoP')
    .option('--no-environment', 'clear the environment')
    .option('--no-region', 'clear the region')
    .option('--clear-rate-limits', "use the config's gateway rate limits again")
    .action(async (name: string, flags: AgentFlags) => {
      const body = agentBody(flags);
      if (Object.keys(body).length === 0) throw usage('nothing to update: give at least one field flag');
      const client = createClient(flags, ctx);
      // The API replaces rateLimits as a whole; the CLI changes only the bucket whose flag was given.
      const rateLimits = body.rateLimits as AgentRateLimits | null | undefined;
      if (rateLimits && (flags.rateLimit === undefined || flags.toolRateLimit === undefined)) {
        const current = await client.getJson<Agent>(agentPath(name));
        body.rateLimits = { ...current.rateLimits, ...rateLimits };
      }
      print(flags, await client.send<Agent>('PATCH', agentPath(name), body));
    });

  for (const verb of ['disable', 'enable'] as const) {
    server(agents.command(verb).description(`${verb} an agent`).argument('<name>', 'agent name')).action(
      async (name: string, flags: AgentFlags) => print(flags, await createClient(flags, ctx).send<Agent>('POST', `${agentPath(name)}/${verb}`)),
    );
  }

  server(agents.command('delete').description('delete an agent and all its credentials').argument('<name>', 'agent name')).action(
    async (name: string, flags: AgentFlags) => {
      await createClient(flags, ctx).send('DELETE', agentPath(name));
      printResult(ctx.io, flags.json === true, { deleted: name }, () => [`Deleted agent ${name}.`]);
    },
  );

  server(agents.command('permissions').description('what an agent may do: per known resource and action, always or conditionally').argument('<name>', 'agent name'))
    .option('--recent <n>', 'also review resources seen in this many recent decisions (0..10000)', '1000')
    .action(async (name: string, flags: AgentFlags & { recent: string }) => {
      if (!/^\d+$/.test(flags.recent) || Number(flags.recent) > 10_000) throw usage(`--recent must be 0..10000, got "${flags.recent}"`);
      const report = await createClient(flags, ctx).getJson<PermissionsJson>(`${agentPath(name)}/permissions?recent=${flags.recent}`);
      printResult(ctx.io, flags.json === true, report, () => [
        `${report.agent} under policy set version ${report.policySetVersion} (${report.resources} known resource(s)):`,
        ...(report.permissions.length === 0
          ? ['  nothing is allowed.']
          : report.permissions.map((p) => `  ${p.access.padEnd(11)} ${p.action.padEnd(22)} ${`${p.resource.type}::${JSON.stringify(p.resource.id)}`.padEnd(36)} ${p.policies.join(', ')}`)),
      ]);
    });

  const credentials = agents.command('credentials').description("manage an agent's client secrets and public keys");

  server(credentials.command('add').description('add a client secret or a public key').argument('<name>', 'agent name'))
    .option('--secret', 'generate a client secret (printed once)')
    .option('--public-key <file>', 'a public JWK file (Ed25519 or P-256)')
    .option('--label <label>', 'a label for the credential')
    .option('--expires <duration>', 'expire after this long, e.g. 90d')
    .action(async (name: string, flags: ServerFlags & { json?: boolean; secret?: boolean; publicKey?: string; label?: string; expires?: string }) => {
      if ((flags.secret === true) === (flags.publicKey !== undefined)) throw usage('give exactly one of --secret and --public-key FILE');
      const body: Record<string, unknown> = { kind: flags.secret ? 'client_secret' : 'public_key' };
      if (flags.publicKey !== undefined) {
        try {
          body.jwk = JSON.parse(readFileSync(flags.publicKey, 'utf8')) as unknown;
        } catch (cause) {
          throw new WardenError('WARDEN_USAGE', `cannot read a JSON JWK from ${flags.publicKey}`, { cause });
        }
      }
      if (flags.label !== undefined) body.label = flags.label;
      if (flags.expires !== undefined) {
        const ms = parseDuration(flags.expires);
        if (ms === undefined || ms <= 0) throw usage(`--expires must be a duration like 90d or 12h, got "${flags.expires}"`);
        body.expiresAt = Date.now() + ms;
      }
      const created = await createClient(flags, ctx).send<CredentialJson>('POST', `${agentPath(name)}/credentials`, body);
      printResult(ctx.io, flags.json === true, created, () => [
        `Added ${created.kind} ${created.id} to ${name} (kid ${created.kid}).`,
        ...(created.secret === undefined ? [] : ['Client secret (shown only now; store it safely):', created.secret]),
      ]);
    });

  server(credentials.command('list').description("list an agent's credentials (never secrets)").argument('<name>', 'agent name')).action(
    async (name: string, flags: AgentFlags) => {
      const result = await createClient(flags, ctx).getJson<{ credentials: CredentialJson[] }>(`${agentPath(name)}/credentials`);
      printResult(ctx.io, flags.json === true, result, () =>
        result.credentials.length === 0 ? [`${name} has no credentials.`] : result.credentials.map(describeCredential),
      );
    },
  );

  server(credentials.command('revoke').description('revoke a credential').argument('<name>', 'agent name').argument('<id>', 'credential id')).action(
    async (name: string, id: string, flags: AgentFlags) => {
      const revoked = await createClient(flags, ctx).send<CredentialJson>('DELETE', `${agentPath(name)}/credentials/${encodeURIComponent(id)}`);
      printResult(ctx.io, flags.json === true, revoked, () => [`Revoked ${revoked.id} of ${name}.`]);
    },
  );
}
