/**
 * `warden mcp tools …`: review the pinned tools of the MCP servers on a running server through the
 * admin API (`/v1/mcp/tools`). `list` shows every tool with its status (approved, pending, blocked,
 * rejected) and hash; `diff NAME` shows, field by field, how the current definition differs from the
 * one approved; `approve NAME [--hash H]` approves the current definition (with `--hash`, only if it is
 * still the one with that hash — copy it from `diff`); `reject NAME` hides the tool for good. NAME is
 * the exposed name `<server>__<tool>`, split at the first `__`. Every command takes `--json`; bad
 * arguments are WARDEN_USAGE (exit 2) before anything is sent.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Command } from 'commander';
import { WardenError } from '../../errors/index.js';
import type { PinStatus, ToolPin } from '../../gateway/tool-pins.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

type Flags = ServerFlags & { json?: boolean };
interface ToolDiff {
  approved: Tool | null;
  current: Tool;
  changed: string[];
}

const statuses: readonly PinStatus[] = ['approved', 'pending', 'blocked', 'rejected'];
const usage = (message: string) => new WardenError('WARDEN_USAGE', message);
const time = (ms: number) => new Date(ms).toISOString();

/** `server__tool` → its server and tool, split at the first `__` (WARDEN_USAGE when either part is empty). */
export function splitToolName(name: string): { server: string; tool: string } {
  const at = name.indexOf('__');
  if (at <= 0 || at + 2 >= name.length) throw usage(`tool name must be <server>__<tool>, got "${name}"`);
  return { server: name.slice(0, at), tool: name.slice(at + 2) };
}

const toolPath = (name: string, suffix = '') => {
  const { server, tool } = splitToolName(name);
  return `/v1/mcp/tools/${encodeURIComponent(server)}/${encodeURIComponent(tool)}${suffix}`;
};

function table(tools: readonly ToolPin[]): string[] {
  if (tools.length === 0) return ['No MCP tools.'];
  const rows = [['NAME', 'STATUS', 'HASH', 'UPDATED'], ...tools.map((t) => [t.name, t.status, t.hash.slice(0, 12), time(t.updatedAt)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/** `value` pretty-printed as JSON, each line prefixed with `sign` (`(absent)` when undefined). */
function side(sign: '-' | '+', value: unknown): string[] {
  const text = value === undefined ? '(absent)' : JSON.stringify(value, null, 2);
  return text.split('\n').map((line) => `${sign} ${line}`);
}

/** A readable field-by-field diff: for each changed field, the approved value (-) then the current one (+). */
export function describeDiff(name: string, diff: ToolDiff, hash?: string): string[] {
  const approved = (diff.approved ?? {}) as Record<string, unknown>;
  const current = diff.current as Record<string, unknown>;
  const lines = [
    diff.approved === null ? `${name} has never been approved; its current definition:` : diff.changed.length === 0 ? `${name}: the current definition is the approved one.` : `${name}: ${diff.changed.length} field(s) changed since approval (- approved, + current)`,
  ];
  for (const field of diff.changed) {
    lines.push('', `${field}:`);
    if (diff.approved !== null) lines.push(...side('-', approved[field]));
    lines.push(...side('+', current[field]));
  }
  if (hash !== undefined) lines.push('', `current hash: ${hash}`, `approve exactly this definition with: warden mcp tools approve ${name} --hash ${hash}`);
  return lines;
}

function describePin(verb: string, pin: ToolPin): string[] {
  return [`${verb} ${pin.name} (status ${pin.status}, hash ${pin.hash.slice(0, 12)}).`];
}

/** Registers `warden mcp tools list|diff|approve|reject` under the `mcp` command. */
export function registerMcpToolsCommands(mcp: Command, ctx: CliContext): void {
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');
  const tools = mcp.command('tools').description('review the pinned tools of the MCP servers (rug-pull defence)');

  server(tools.command('list').description('list the pinned tools and their status'))
    .option('--server <name>', 'only the tools of this MCP server')
    .option('--status <status>', `only tools with this status: ${statuses.join(', ')}`)
    .action(async (flags: Flags & { server?: string; status?: string }) => {
      if (flags.status !== undefined && !statuses.includes(flags.status as PinStatus)) throw usage(`--status must be ${statuses.join(', ')}, got "${flags.status}"`);
      const query = new URLSearchParams();
      if (flags.server !== undefined) query.set('server', flags.server);
      if (flags.status !== undefined) query.set('status', flags.status);
      const path = `/v1/mcp/tools${query.size === 0 ? '' : `?${query.toString()}`}`;
      const result = await createClient(flags, ctx).getJson<{ tools: ToolPin[] }>(path);
      printResult(ctx.io, flags.json === true, result, () => table(result.tools));
    });

  server(tools.command('diff').description('show how a tool changed since it was approved').argument('<name>', 'tool name, <server>__<tool>')).action(
    async (name: string, flags: Flags) => {
      const path = toolPath(name);
      const client = createClient(flags, ctx);
      const diff = await client.getJson<ToolDiff>(`${path}/diff`);
      if (flags.json === true) return printResult(ctx.io, true, diff, () => []);
      const pin = await client.getJson<ToolPin>(path);
      // The hash shown must belong to the definition shown; if it moved in between, show the diff again.
      const hash = JSON.stringify(pin.definition) === JSON.stringify(diff.current) ? pin.hash : undefined;
      printResult(ctx.io, false, diff, () => [`status: ${pin.status}`, ...describeDiff(name, diff, hash)]);
    },
  );

  server(tools.command('approve').description('approve the current definition of a tool').argument('<name>', 'tool name, <server>__<tool>'))
    .option('--hash <sha256>', 'approve only if the current definition still has this hash (64 hex digits, from diff)')
    .action(async (name: string, flags: Flags & { hash?: string }) => {
      const path = toolPath(name);
      if (flags.hash !== undefined && !/^[0-9a-f]{64}$/.test(flags.hash)) throw usage('--hash must be the full SHA-256: 64 lower-case hex digits');
      const pin = await createClient(flags, ctx).send<ToolPin>('POST', `${path}/approve`, flags.hash === undefined ? {} : { hash: flags.hash });
      printResult(ctx.io, flags.json === true, pin, () => describePin('Approved', pin));
    });

  server(tools.command('reject').description('reject a tool: hidden from agents whatever its server sends').argument('<name>', 'tool name, <server>__<tool>')).action(
    async (name: string, flags: Flags) => {
      const path = toolPath(name);
      const pin = await createClient(flags, ctx).send<ToolPin>('POST', `${path}/reject`, {});
      printResult(ctx.io, flags.json === true, pin, () => describePin('Rejected', pin));
    },
  );
}
