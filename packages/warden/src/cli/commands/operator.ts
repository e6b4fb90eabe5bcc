/**
 * `warden operator …`: local operator commands that unseal the data directory themselves.
 * `rotate-barrier` starts a new barrier key version and (unless --no-rewrap) moves every value stored
 * through the barrier to it, with a progress bar on an interactive terminal; the request is recorded in
 * the audit log before anything changes, and the outcome after. `rotate-signing-key` does the same for
 * the access-token signing key.
 */
import type { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../../config/index.js';
import { operatorActor } from '../../server/operator.js';
import type { CliContext } from '../context.js';
import { printResult } from '../output.js';
import { sealSecrets } from '../secrets.js';

interface RotateFlags extends ConfigFlags {
  rewrap: boolean;
  json?: boolean;
}

export function operatorCommand(program: Command, ctx: CliContext): void {
  const operator = program.command('operator').description('local operator commands (unseal the data directory directly)');
  operator
    .command('rotate-barrier')
    .description('start a new barrier key version and rewrap stored values to it')
    .option('--data-dir <dir>', 'data directory (default ./.warden, or WARDEN_DATA_DIR)')
    .option('--config <file>', 'config file (default <data-dir>/warden.yaml)')
    .option('--no-rewrap', 'only start the new version; leave existing values on their version')
    .option('--json', 'print JSON')
    .action(async (flags: RotateFlags) => {
      const [{ SingleBar }, { rewrap }, { openRuntime }] = await Promise.all([
        import('cli-progress'),
        import('../../barrier/index.js'),
        import('../../server/runtime.js'),
      ]);
      const config = loadConfig({ flags, env: ctx.env, cwd: ctx.cwd });
      const runtime = await openRuntime(config, await sealSecrets(config.seal, ctx.env, ctx.prompt));
      const event = (outcome: 'success' | 'failure', details: Record<string, string | number>) => ({
        class: 'entity_management' as const,
        activityId: 3 as const,
        action: 'barrier.rotate',
        actor: operatorActor(),
        resource: { type: 'barrier_keyring', id: 'barrier' },
        outcome,
        details,
      });
      try {
        // High-risk: the request is durable in the audit log before anything changes (fail closed).
        await runtime.audit.append(event('success', { phase: 'requested' }));
        let version: number;
        let result = { total: 0, rewrapped: 0 };
        try {
          version = await runtime.barrier.rotate();
          if (flags.rewrap) {
            const bar = process.stderr.isTTY && flags.json !== true ? new SingleBar({ stream: process.stderr }) : undefined;
            bar?.start(1, 0);
            try {
              result = await rewrap({
                db: runtime.store.db,
                barrier: runtime.barrier,
                onProgress: (done, total) => {
                  bar?.setTotal(Math.max(total, 1));
                  bar?.update(done);
                },
              });
            } finally {
              bar?.stop();
            }
          }
        } catch (err) {
          await runtime.audit.append(event('failure', { phase: 'completed' })).catch(() => undefined);
          throw err;
        }
        await runtime.audit.append(event('success', { phase: 'completed', version, ...result }));
        printResult(ctx.io, flags.json === true, { version, ...result }, () => [
          `Barrier key version ${version} is now in use.`,
          flags.rewrap ? `Rewrapped ${result.rewrapped} of ${result.total} stored values.` : 'Existing values were not rewrapped.',
        ]);
      } finally {
        await runtime.close();
      }
    });

  operator
    .command('rotate-signing-key')
    .description('start a new access-token signing key (the JWKS keeps the old one until its tokens expire)')
    .option('--data-dir <dir>', 'data directory (default ./.warden, or WARDEN_DATA_DIR)')
    .option('--config <file>', 'config file (default <data-dir>/warden.yaml)')
    .option('--json', 'print JSON')
    .action(async (flags: ConfigFlags & { json?: boolean }) => {
      const [{ openSigningKeys }, { openRuntime }] = await Promise.all([
        import('../../identity/signing-keys.js'),
        import('../../server/runtime.js'),
      ]);
      const config = loadConfig({ flags, env: ctx.env, cwd: ctx.cwd });
      const runtime = await openRuntime(config, await sealSecrets(config.seal, ctx.env, ctx.prompt));
      const event = (details: Record<string, string>) => ({
        class: 'entity_management' as const,
        activityId: 3 as const,
        action: 'token.rotate_signing_key',
        actor: operatorActor(),
        resource: { type: 'token_signing_key', id: details.kid ?? 'next' },
        outcome: 'success' as const,
        details,
      });
      try {
        // High-risk: durable in the audit log before the key changes (fail closed).
        await runtime.audit.append(event({ phase: 'requested' }));
        const keys = await openSigningKeys({ db: runtime.store.db, barrier: runtime.barrier });
        const kid = await keys.rotate();
        await runtime.audit.append(event({ phase: 'completed', kid }));
        printResult(ctx.io, flags.json === true, { kid }, () => [
          `Access tokens are now signed with key ${kid}; running servers pick it up within a minute.`,
          'Tokens signed with the previous key stay valid until they expire.',
        ]);
      } finally {
        await runtime.close();
      }
    });
}
