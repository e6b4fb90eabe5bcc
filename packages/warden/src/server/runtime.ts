/**
 * The runtime: what a Warden process holds once it is unsealed — the seal, the store (migrated), the
 * barrier and the audit log. The seal is opened first, so a wrong passphrase, a bad PIN or an exposed
 * seal file stops the process before anything is written. Used by `warden serve`, `warden init` and
 * local operator commands.
 */
import { openAuditLog, type AuditLog } from '../audit/index.js';
import { openBarrier, type Barrier } from '../barrier/index.js';
import type { Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { createSeal, type Seal, type SealSecrets } from '../seal/index.js';
import { createBarrierKeyringRepository, openStore, type Store } from '../store/index.js';

export interface Runtime {
  readonly config: Config;
  readonly seal: Seal;
  readonly store: Store;
  readonly barrier: Barrier;
  readonly audit: AuditLog;
  close(): Promise<void>;
}

export async function openRuntime(
  config: Config,
  secrets: SealSecrets,
  logger: Logger = createLogger({ level: 'silent' }),
): Promise<Runtime> {
  const seal = createSeal(config.seal, secrets);
  const rootKey = await seal.unseal();
  let store: Store | undefined;
  let barrier: Barrier | undefined;
  try {
    store = await openStore(config.store);
    await store.migrate();
    barrier = await openBarrier({ rootKey: Buffer.from(rootKey), keyring: createBarrierKeyringRepository(store.db) });
    const audit = await openAuditLog({ store, barrier, config: config.audit, logger });
    const opened = { store, barrier };
    return {
      config,
      seal,
      store,
      barrier,
      audit,
      async close() {
        try {
          await audit.close();
        } finally {
          opened.barrier.close();
          await opened.store.close();
        }
      },
    };
  } catch (err) {
    barrier?.close();
    await store?.close();
    throw err;
  } finally {
    rootKey.fill(0);
  }
}
