/**
 * `warden mcp servers …`: register, list, show and remove the MCP servers (upstreams) the gateway
 * forwards to, on a running server through the admin API (`/v1/mcp/servers`). An upstream is a stdio
 * command (`--command`, `--arg`, `--env K=V`) or a Streamable HTTP URL (`--url`, `--header K=V`); env and
 * header values may refer to secrets (`secret:NAME`, `{{secret:NAME}}`), resolved only when Warden talks
 * upstream. On `add`, `--url` is the upstream's URL, so the Warden server is chosen with `--server`
 * (or WARDEN_ADDR, the login session, the data directory). Every command takes `--json`; bad flags are
 * WARDEN_USAGE (exit 2) before anything is sent.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { WardenError } from '../../errors/index.js';
import type { Upstream } from '../../gateway/types.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';
import { registerMcpConnectCommand } from './mcp-connect.js';
import { registerMcpToolsCommands } from './mcp-tools.js';

interface AddFlags {
  json?: boolean;
  server?: string;
  dataDir?: string;
  ca?: string;
  command?: string;
  arg?: string[];
  env?: string[];
  url?: string;
  header?: string[];
  timeout?: string;
  restartBackoff?: string;
  isolation?: string;
  toolPolicy?: string;
}

const usage = (message: string) => new WardenError('WARDEN_USAGE', message);
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const serverPath = (name: string) => `/v1/mcp/servers/${encodeURIComponent(name)}`;
const time = (ms: number) => new Date(ms).toISOString();

/** `K=V` pairs to an object, split at the first `=` (WARDEN_USAGE for no `=`, an empty or a repeated key). */
export function parsePairs(flag: string, pairs: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw usage(`${flag} must be KEY=VALUE, got "${pair}"`);
    const key = pair.slice(0, at);
    if (Object.hasOwn(result, key)) throw usage(`${flag} ${key} is given twice`);
    result[key] = pair.slice(at + 1);
  }
  return result;
}

/** `30000` → `30s`, `90000` → `90s`, `250` → `250ms`. */
export function formatMillis(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function checkDuration(flag: string, text: string | undefined): string | undefined {
  if (text !== undefined && parseDuration(text) === undefined) throw usage(`${flag} must be a duration like 250ms, 30s or 5m, got "${text}"`);
  return text;
}

function checkChoice(flag: string, value: string | undefined, choices: readonly string[]): string | undefined {
  if (value !== undefined && !choices.includes(value)) throw usage(`${flag} must be ${choices.join(' or ')}, got "${value}"`);
  return value;
}

/** The request body the `add` flags describe; every flag is checked here, before anything is sent. */
export function upstreamBody(name: string, flags: AddFlags): Record<string, unknown> {
  if ((flags.command === undefined) === (flags.url === undefined)) throw usage('give exactly one of --command CMD (stdio) and --url URL (Streamable HTTP)');
  if (flags.command !== undefined && flags.header !== undefined) throw usage('--header applies to --url upstreams only');
  if (flags.url !== undefined && (flags.env !== undefined || flags.arg !== undefined)) throw usage('--arg and --env apply to --command upstreams only');
  const body: Record<string, unknown> = {
    name,
    transport:
      flags.command !== undefined
        ? { kind: 'stdio', command: flags.command, args: flags.arg ?? [], env: parsePairs('--env', flags.env ?? []) }
        : { kind: 'http', url: flags.url, headers: parsePairs('--header', flags.header ?? []) },
  };
  const timeout = checkDuration('--timeout', flags.timeout);
  if (timeout !== undefined) body.timeout = timeout;
  const restartBackoff = checkDuration('--restart-backoff', flags.restartBackoff);
  if (restartBackoff !== undefined) body.restartBackoff = restartBackoff;
  const isolation = checkChoice('--isolation', flags.isolation, ['shared', 'per-agent']);
  if (isolation !== undefined) body.isolation = isolation;
  const toolPolicy = checkChoice('--tool-policy', flags.toolPolicy, ['approve-first', 'trust-on-first-use']);
  if (toolPolicy !== undefined) body.toolPolicy = toolPolicy;
  return body;
}

const target = (u: Upstream) => (u.transport.kind === 'stdio' ? u.transport.command : u.transport.url);

function describeUpstream(u: Upstream): string[] {
  const t = u.transport;
  const pairs = (map: Readonly<Record<string, string>>) => {
    const entries = Object.entries(map);
    return entries.length === 0 ? ['-'] : entries.map(([k, v]) => `${k}=${v}`);
  };
  return [
    `${u.name} (${t.kind})`,
    ...(t.kind === 'stdio'
      ? [`  command:         ${t.command}`, `  args:            ${t.args.length ? t.args.map((a) => JSON.stringify(a)).join(' ') : '-'}`, `  env:             ${pairs(t.env).join(', ')}`]
      : [`  url:             ${t.url}`, `  headers:         ${pairs(t.headers).join(', ')}`]),
    `  isolation:       ${u.isolation}`,
    `  tool policy:     ${u.toolPolicy}`,
    `  timeout:         ${formatMillis(u.timeoutMs)}`,
    `  restart backoff: ${formatMillis(u.restartBackoffMs)}`,
    `  created:         ${time(u.createdAt)}, updated ${time(u.updatedAt)}`,
  ];
}

function table(servers: readonly Upstream[]): string[] {
  if (servers.length === 0) return ['No MCP servers.'];
  const rows = [['NAME', 'TRANSPORT', 'ISOLATION', 'TOOL POLICY', 'TIMEOUT'], ...servers.map((u) => [u.name, `${u.transport.kind} ${target(u)}`, u.isolation, u.toolPolicy, formatMillis(u.timeoutMs)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

export function mcpCommand(program: Command, ctx: CliContext): void {
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');
  const print = (flags: { json?: boolean }, upstream: Upstream) => printResult(ctx.io, flags.json === true, upstream, () => describeUpstream(upstream));

  const mcp = program.command('mcp').description('the MCP gateway');
  const servers = mcp.command('servers').description('manage the MCP servers (upstreams) the gateway forwards to');
  registerMcpToolsCommands(mcp, ctx);
  registerMcpConnectCommand(mcp, ctx);

  servers
    .command('add')
    .description('register an MCP server: a stdio command or a Streamable HTTP URL')
    .argument('<name>', 'server name (lower-case letters, digits, dashes; tools appear as <name>__<tool>)')
    .option('--command <cmd>', 'stdio: the command to run')
    .option('--arg <arg>', 'stdio: an argument (repeat for several, in order)', collect)
    .option('--env <key=value>', 'stdio: an environment variable; the value may be secret:NAME (repeatable)', collect)
    .option('--url <url>', 'Streamable HTTP: the server URL (https://, or http:// to loopback)')
    .option('--header <name=value>', 'HTTP: a header, split at the first "="; the value may hold {{secret:NAME}} (repeatable)', collect)
    .option('--timeout <duration>', 'per-request timeout, e.g. 30s (default 30s)')
    .option('--restart-backoff <duration>', 'first delay before restarting a crashed stdio server, e.g. 1s (default 1s)')
    .option('--isolation <mode>', 'shared (one connection) or per-agent (default shared)')
    .option('--tool-policy <policy>', 'approve-first or trust-on-first-use (default approve-first)')
    .option('--server <url>', 'Warden server URL (default from WARDEN_ADDR, the saved login session or the data directory config)')
    .option('--data-dir <dir>', 'data directory whose config names the address')
    .option('--ca <file>', 'CA certificate to verify the server with (TLS)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: AddFlags) => {
      const body = upstreamBody(name, flags);
      const serverFlags: ServerFlags = {
        ...(flags.server === undefined ? {} : { url: flags.server }),
        ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
        ...(flags.ca === undefined ? {} : { ca: flags.ca }),
      };
      print(flags, await createClient(serverFlags, ctx).send<Upstream>('POST', '/v1/mcp/servers', body));
    });

  server(servers.command('list').description('list the MCP servers')).action(async (flags: ServerFlags & { json?: boolean }) => {
    const result = await createClient(flags, ctx).getJson<{ servers: Upstream[] }>('/v1/mcp/servers');
    printResult(ctx.io, flags.json === true, result, () => table(result.servers));
  });

  server(servers.command('show').description('show an MCP server').argument('<name>', 'server name')).action(
    async (name: string, flags: ServerFlags & { json?: boolean }) => print(flags, await createClient(flags, ctx).getJson<Upstream>(serverPath(name))),
  );

  server(servers.command('remove').description('remove an MCP server').argument('<name>', 'server name')).action(
    async (name: string, flags: ServerFlags & { json?: boolean }) => {
      await createClient(flags, ctx).send('DELETE', serverPath(name));
      printResult(ctx.io, flags.json === true, { removed: name }, () => [`Removed MCP server ${name}.`]);
    },
  );
}
