/** `warden init`: create and initialize a data directory (config, seal, database, barrier keyring). */
import type { Command } from 'commander';
import { parseConfig, resolveDataDir, type ConfigInput } from '../../config/index.js';
import { WardenError } from '../../errors/index.js';
import type { InitResult } from '../../server/data-dir.js';
import type { CliContext } from '../context.js';
import { printResult } from '../output.js';
import { sealSecrets } from '../secrets.js';

export interface InitFlags {
  dataDir?: string;
  seal?: string;
  pkcs11Library?: string;
  pkcs11TokenLabel?: string;
  pkcs11KeyLabel?: string;
  postgresUrl?: string;
  listen?: string;
  json?: boolean;
}

/** The warden.yaml settings for init's flags. */
export function initSettings(flags: InitFlags, env: CliContext['env']): ConfigInput {
  const settings: Record<string, unknown> = {};
  if (flags.listen) {
    const match = /^(.+):(\d+)$/.exec(flags.listen);
    if (!match) throw new WardenError('WARDEN_USAGE', `--listen must be host:port, got "${flags.listen}"`);
    settings.listen = { host: match[1], port: Number(match[2]) };
  }
  const postgresUrl = flags.postgresUrl ?? env.WARDEN_POSTGRES_URL;
  settings.store = postgresUrl ? { postgres: { url: postgresUrl } } : { sqlite: { path: 'warden.db' } };
  const kind = flags.seal ?? 'file';
  if (kind === 'file') settings.seal = { kind: 'file', path: 'seal.key' };
  else if (kind === 'passphrase') settings.seal = { kind: 'passphrase' };
  else if (kind === 'pkcs11') {
    if (!flags.pkcs11Library || !flags.pkcs11TokenLabel) {
      throw new WardenError('WARDEN_USAGE', '--seal pkcs11 needs --pkcs11-library and --pkcs11-token-label');
    }
    settings.seal = {
      kind: 'pkcs11',
      library: flags.pkcs11Library,
      tokenLabel: flags.pkcs11TokenLabel,
      ...(flags.pkcs11KeyLabel ? { keyLabel: flags.pkcs11KeyLabel } : {}),
    };
  } else throw new WardenError('WARDEN_USAGE', `--seal must be file, passphrase or pkcs11, got "${kind}"`);
  return settings;
}

/** How the first admin's credentials are shown (once: they are stored only hashed or sealed). */
export function firstAdminLines({ admin }: InitResult): string[] {
  return [
    `First admin (shown once, store it now): username ${admin.username}`,
    `  password:    ${admin.password}`,
    `  TOTP secret: ${admin.totpSecret}`,
    `  TOTP URI:    ${admin.totpUri}`,
  ];
}

/** Initialize the data directory named by the flags (shared by `init` and `serve --init`). */
export async function runInit(flags: InitFlags, ctx: CliContext): Promise<InitResult> {
  const dataDir = resolveDataDir({ flags, env: ctx.env, cwd: ctx.cwd });
  const settings = initSettings(flags, ctx.env);
  const { seal } = parseConfig(settings);
  const secrets = await sealSecrets(seal, ctx.env, ctx.prompt);
  if (seal.kind === 'passphrase' && !ctx.env[seal.passphraseEnv] && secrets.passphrase) {
    const again = await ctx.prompt('Repeat the passphrase: ');
    if (again !== secrets.passphrase) throw new WardenError('WARDEN_USAGE', 'the passphrases do not match');
  }
  const { initDataDir } = await import('../../server/data-dir.js');
  return initDataDir({ dataDir, settings, secrets });
}

export function initCommand(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('create and initialize a data directory')
    .option('--data-dir <dir>', 'data directory (default ./.warden, or WARDEN_DATA_DIR)')
    .option('--seal <kind>', 'seal kind: file, passphrase or pkcs11', 'file')
    .option('--pkcs11-library <path>', 'PKCS#11 library (with --seal pkcs11)')
    .option('--pkcs11-token-label <label>', 'HSM token label (with --seal pkcs11)')
    .option('--pkcs11-key-label <label>', 'label of the HSM key that wraps the root key')
    .option('--postgres-url <url>', 'use PostgreSQL instead of the embedded SQLite (or WARDEN_POSTGRES_URL)')
    .option('--listen <host:port>', 'address to listen on')
    .option('--json', 'print JSON')
    .action(async (flags: InitFlags) => {
      const result = await runInit(flags, ctx);
      printResult(ctx.io, flags.json === true, result, () => [
        `Initialized Warden in ${result.dataDir} (seal: ${result.seal}, store: ${result.store}).`,
        ...firstAdminLines(result),
        'Next: warden serve, then warden login',
      ]);
    });
}
