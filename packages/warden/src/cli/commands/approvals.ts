/**
 * `warden approvals list [--status S] | approve ID | deny ID`: the human decisions on held tool calls,
 * through the admin API (`/v1/mcp/approvals`). An approval is single-use and bound to the agent, the
 * tool and the digest of the call's arguments; the agent retries the identical call once approved.
 */
import type { Command } from 'commander';
import { WardenError } from '../../errors/index.js';
import type { Approval } from '../../gateway/approvals.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

interface ApprovalFlags extends ServerFlags {
  json?: boolean;
  status?: string;
}

const STATUSES = ['pending', 'approved', 'denied', 'used'];
const ID = /^apr_[0-9a-f]{32}$/;
const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

export function approvalsCommand(program: Command, ctx: CliContext): void {
  const approvals = program.command('approvals').description('approve or deny tool calls held for a human decision');
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');

  server(approvals.command('list').description('held tool calls (newest first)'))
    .option('--status <status>', STATUSES.join('|'))
    .action(async (flags: ApprovalFlags) => {
      if (flags.status !== undefined && !STATUSES.includes(flags.status)) throw new WardenError('WARDEN_USAGE', `--status must be one of ${STATUSES.join(', ')}`);
      const query = flags.status ? `?status=${flags.status}` : '';
      const result = await createClient(flags, ctx).getJson<{ approvals: Approval[] }>(`/v1/mcp/approvals${query}`);
      printResult(ctx.io, flags.json === true, result, () =>
        result.approvals.length === 0
          ? ['no approvals']
          : result.approvals.map((a) => `${a.id}  ${a.status.padEnd(8)}  ${a.agent}  ${a.tool}  args ${a.argsDigest.slice(0, 12)}  expires ${time(a.expiresAt)}`),
      );
    });
  for (const [verb, past] of [['approve', 'approved'], ['deny', 'denied']] as const) {
    server(approvals.command(`${verb} <id>`).description(`${verb} a held call`)).action(async (id: string, flags: ApprovalFlags) => {
      if (!ID.test(id)) throw new WardenError('WARDEN_USAGE', `not an approval id: ${id}`);
      const result = await createClient(flags, ctx).send<Approval>('POST', `/v1/mcp/approvals/${id}/${verb}`);
      printResult(ctx.io, flags.json === true, result, () => [`${past} ${result.id} (${result.agent} → ${result.tool})`]);
    });
  }
}
