/**
 * Initializing a data directory (`warden init`): the config file, the seal material, the database, the
 * first barrier key, the audit log (whose first entry records the init) and the first admin. Everything is built in a private staging directory next to the target and
 * renamed into place at the end, so a failure at any step leaves nothing behind, and an existing data
 * directory is never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { configFileName, parseConfig, resolveConfig, type Config, type ConfigInput } from '../config/index.js';
import { WardenError } from '../errors/index.js';
import { createAdminDirectory, type NewAdmin } from '../identity/admins.js';
import { createSeal, type SealSecrets } from '../seal/index.js';
import { createBarrierKeyringRepository, openStore } from '../store/index.js';
import { operatorActor } from './operator.js';
import { openRuntime } from './runtime.js';

export interface InitOptions {
  dataDir: string;
  /** Settings to write to warden.yaml (defaults fill the rest). */
  settings: ConfigInput;
  secrets: SealSecrets;
}

export interface InitResult {
  dataDir: string;
  configFile: string;
  seal: Config['seal']['kind'];
  store: Config['store']['kind'];
  /** The first admin, with the generated password and TOTP secret: shown once, stored only hashed/sealed. */
  admin: NewAdmin;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw new WardenError('WARDEN_DATA_DIR_EXISTS', `${dir} exists and cannot be read`, { cause: err });
  }
}

/** Create and initialize a data directory. Refuses when `dataDir` exists and is not empty. */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const { dataDir } = options;
  if (!(await isEmptyOrMissing(dataDir))) {
    throw new WardenError('WARDEN_DATA_DIR_EXISTS', `${dataDir} already exists; refusing to overwrite it`);
  }
  const parsed = parseConfig(options.settings);
  await mkdir(dirname(dataDir), { recursive: true });
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.init-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    const configFile = join(staging, configFileName);
    await writeFile(configFile, stringify(options.settings), { mode: 0o600, flag: 'wx' });
    const config = resolveConfig(parsed, staging, configFile);

    const store = await openStore(config.store);
    try {
      await store.migrate();
      if ((await createBarrierKeyringRepository(store.db).list()).length > 0) {
        throw new WardenError(
          'WARDEN_STORE_CONFLICT',
          'the store already holds a Warden barrier keyring: start this node with the existing seal instead of running init',
        );
      }
    } finally {
      await store.close();
    }
    (await createSeal(config.seal, options.secrets).initialize()).fill(0);
    const runtime = await openRuntime(config, options.secrets);
    let admin: NewAdmin | undefined;
    try {
      await runtime.audit.append({
        class: 'entity_management',
        activityId: 1,
        action: 'warden.init',
        actor: operatorActor(),
        resource: { type: 'data_dir', id: dataDir },
        outcome: 'success',
        details: { seal: config.seal.kind, store: config.store.kind },
      });
      const { store, barrier, audit } = runtime;
      admin = await createAdminDirectory({ db: store.db, barrier, audit }).bootstrap();
    } finally {
      await runtime.close();
    }
    await rmdir(dataDir).catch(() => undefined);
    await rename(staging, dataDir);
    await chmod(dataDir, 0o700);
    if (!admin) throw new WardenError('WARDEN_STORE_CONFLICT', 'the store already has admins: it belongs to another Warden');
    return { dataDir, configFile: join(dataDir, configFileName), seal: config.seal.kind, store: config.store.kind, admin };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
