/** `warden status`: ask a running server for its version, store and seal state, audit log size and sink lag. */
import type { Command } from 'commander';
import { statusSchema } from '../../api/health.js';
import { WardenError } from '../../errors/index.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

export function statusCommand(program: Command, ctx: CliContext): void {
  withServerOptions(program.command('status').description("show a running server's version, store, seal and audit state"))
    .option('--json', 'print JSON')
    .action(async (flags: ServerFlags & { json?: boolean }) => {
      const client = createClient(flags, ctx);
      const parsed = statusSchema.safeParse(await client.getJson('/v1/status'));
      if (!parsed.success) throw new WardenError('WARDEN_SERVER_UNREACHABLE', `${client.origin} did not answer as a Warden server`);
      const s = parsed.data;
      printResult(ctx.io, flags.json === true, { url: client.origin, ...s }, () => [
        `Warden ${s.version} at ${client.origin}`,
        `store: ${s.store.kind} (${s.store.reachable ? 'reachable' : 'UNREACHABLE'})`,
        `seal:  ${s.seal.kind} (${s.seal.state})`,
        ...(s.audit
          ? [
              `audit: ${s.audit.size} entries, checkpoint at ${s.audit.checkpointSize}${s.audit.healthy ? '' : ' (UNAVAILABLE: appends are failing)'}`,
              ...s.audit.sinks.map(
                (sink) => `  sink ${sink.name}: ${sink.lag} behind (next ${sink.nextIndex})${sink.lastError ? `, last error: ${sink.lastError}` : ''}`,
              ),
            ]
          : []),
      ]);
    });
}
