/**
 * `warden serve`: unseal, open the store and serve HTTP until SIGTERM or SIGINT, then shut down
 * gracefully. With `--init`, a missing data directory is first initialized with embedded defaults
 * (file seal, SQLite) — what `npm start` does on a fresh clone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { configFileName, loadConfig, resolveDataDir, type ConfigFlags } from '../../config/index.js';
import type { CliContext } from '../context.js';
import { sealSecrets } from '../secrets.js';
import { firstAdminLines, runInit } from './init.js';

interface ServeFlags extends ConfigFlags {
  init?: boolean;
}

export function serveCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the Warden server')
    .option('--data-dir <dir>', 'data directory (default ./.warden, or WARDEN_DATA_DIR)')
    .option('--config <file>', 'config file (default <data-dir>/warden.yaml, or WARDEN_CONFIG)')
    .option('--listen <host:port>', 'address to listen on (overrides config and WARDEN_LISTEN_*)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--init', 'initialize the data directory with embedded defaults if it does not exist')
    .action(async (flags: ServeFlags) => {
      const dataDir = resolveDataDir({ flags, env: ctx.env, cwd: ctx.cwd });
      if (flags.init && !flags.config && !existsSync(join(dataDir, configFileName))) {
        const result = await runInit({ dataDir }, ctx);
        ctx.io.stderr(`warden: initialized ${result.dataDir} (seal: ${result.seal}, store: ${result.store})\n`);
        ctx.io.stderr(`${firstAdminLines(result).map((line) => `warden: ${line}`).join('\n')}\n`);
      }
      const config = loadConfig({ flags, env: ctx.env, cwd: ctx.cwd });
      const secrets = await sealSecrets(config.seal, ctx.env, ctx.prompt);
      const [{ createLogger }, { startWarden }] = await Promise.all([import('../../log/index.js'), import('../../server/index.js')]);
      const logger = createLogger({ level: config.log.level });
      const server = await startWarden({ config, secrets, logger });
      ctx.io.stderr(`warden: serving on ${server.url} (data dir ${config.dataDir})\n`);

      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.once(signal, () => process.exit(1));
          logger.info({ signal }, 'shutting down');
          server.close().then(resolve, (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            resolve();
          });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      logger.info('stopped');
      logger.flush();
    });
}
