/**
 * The runtime: what a Warden process holds once it is unsealed — the seal, the store (migrated) and the
 * barrier. The seal is opened first, so a wrong passphrase, a bad PIN or an exposed seal file stops the
 * process before anything is written. Used by `warden serve` and by local operator commands.
 */
import { openBarrier, type Barrier } from '../barrier/index.js';
import type { Config } from '../config/index.js';
import { createSeal, type Seal, type SealSecrets } from '../seal/index.js';
import { createBarrierKeyringRepository, openStore, type Store } from '../store/index.js';

export interface Runtime {
  readonly config: Config;
  readonly seal: Seal;
  readonly store: Store;
  readonly barrier: Barrier;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, secrets: SealSecrets): Promise<Runtime> {
  const seal = createSeal(config.seal, secrets);
  const rootKey = await seal.unseal();
  let store: Store | undefined;
  try {
    store = await openStore(config.store);
    await store.migrate();
    const barrier = await openBarrier({ rootKey: Buffer.from(rootKey), keyring: createBarrierKeyringRepository(store.db) });
    const opened = store;
    return {
      config,
      seal,
      store: opened,
      barrier,
      async close() {
        barrier.close();
        await opened.close();
      },
    };
  } catch (err) {
    await store?.close();
    throw err;
  } finally {
    rootKey.fill(0);
  }
}
