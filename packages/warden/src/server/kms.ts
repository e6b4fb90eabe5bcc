/**
 * The key management service, composed for the server: the keyring over the store and barrier (with
 * HSM-resident keys when the seal is a PKCS#11 token — the same token, through its own session), the
 * key entities the policy sees, the scheduler (rotation and destruction; one node at a time on
 * PostgreSQL), the screening tokenizer (when `screen.tokenizationKey` names its KMS key), and — once the
 * authorizer exists — the operations and their routes (with `POST /v1/tokens/detokenize` when there is a
 * tokenizer).
 */
import type { FastifyPluginAsync, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify';
import { keyOperationRoutes } from '../api/key-operations.js';
import { keyRoutes } from '../api/keys.js';
import { tokenRoutes } from '../api/tokens.js';
import type { Config } from '../config/index.js';
import type { AdminSessions } from '../identity/admin-sessions.js';
import type { AdminRole } from '../identity/types.js';
import {
  createKeyOperations,
  createKeyring,
  createKmsScheduler,
  keyEntityProvider,
  openHsmKeyStore,
  schedulerTransaction,
  type HsmKeyStore,
  type Keyring,
  type KmsScheduler,
} from '../kms/index.js';
import type { Logger } from '../log/index.js';
import type { Authorizer, EntityProvider } from '../policy/index.js';
import { createTokenizer, type Tokenizer } from '../screen/tokenizer.js';
import type { SealSecrets } from '../seal/index.js';
import type { Runtime } from './runtime.js';

export interface Kms {
  readonly keyring: Keyring;
  readonly scheduler: KmsScheduler;
  /** Resolves `Warden::Key` entities for the authorizer. */
  readonly entityProvider: EntityProvider;
  /**
   * Reversible tokenization for screening (`tokenize` actions), over the KMS key named by
   * `screen.tokenizationKey`; undefined when none is configured (then tokenizing must be refused).
   */
  readonly tokenizer: Tokenizer | undefined;
  /** The admin and data-plane routes, over the one authorizer. */
  routes(options: {
    authorizer: Pick<Authorizer, 'authorize'>;
    requireAdmin: (...roles: AdminRole[]) => onRequestHookHandler;
    authenticateAgent: onRequestAsyncHookHandler;
    sessions: Pick<AdminSessions, 'authenticate'>;
  }): FastifyPluginAsync[];
  close(): Promise<void>;
}

export interface OpenKmsOptions {
  runtime: Pick<Runtime, 'store' | 'barrier' | 'audit'>;
  config: Pick<Config, 'seal' | 'screen'>;
  secrets: SealSecrets;
  logger: Logger;
  /** How often the scheduler runs (ms). */
  schedulerInterval?: number;
}

export function openKms({ runtime, config, secrets, logger, schedulerInterval }: OpenKmsOptions): Kms {
  const { store, barrier, audit } = runtime;
  let hsm: HsmKeyStore | undefined;
  if (config.seal.kind === 'pkcs11') {
    hsm = openHsmKeyStore({ library: config.seal.library, tokenLabel: config.seal.tokenLabel, pin: secrets.pin ?? '' });
  }
  const keyring = createKeyring({ db: store.db, barrier, audit, ...(hsm ? { hsm } : {}), lockedTransaction: schedulerTransaction(store.db, store.kind) });
  const tokenizationKey = config.screen.tokenizationKey;
  const tokenizer = tokenizationKey === undefined ? undefined : createTokenizer({ db: store.db, barrier, keyring, keyName: tokenizationKey, audit });
  const scheduler = createKmsScheduler({ keyring, logger, ...(schedulerInterval === undefined ? {} : { interval: schedulerInterval }) });
  return {
    keyring,
    scheduler,
    entityProvider: keyEntityProvider(keyring),
    tokenizer,
    routes({ authorizer, requireAdmin, authenticateAgent, sessions }) {
      const authorize: Parameters<typeof createKeyOperations>[0]['authorize'] = (request, options) => authorizer.authorize(request, options);
      const operations = createKeyOperations({ keyring, authorize });
      return [
        keyRoutes({ keyring, requireAdmin }),
        keyOperationRoutes({ operations, authenticateAgent, sessions }),
        ...(tokenizer ? [tokenRoutes({ tokenizer, authorize, authenticateAgent, sessions })] : []),
      ];
    },
    async close() {
      await scheduler.stop();
      await keyring.close();
      hsm?.close();
    },
  };
}
