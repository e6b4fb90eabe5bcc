/**
 * Keys as the policy sees them: `Warden::Key::"<name>"` with `purpose` (encryption, mac, signing),
 * `region`, and the key's labels as entity tags. The version string is the key's `updatedAt`, so a
 * changed key never reuses a cached decision. An unknown key resolves to nothing, and the authorizer
 * denies — to a caller, an unknown key and a forbidden one look the same.
 */
import { isWardenError } from '../errors/index.js';
import type { EntityProvider } from '../policy/index.js';
import type { Keyring } from './keyring.js';
import { KEY_ENTITY_TYPE } from './operations.js';
import { purposeOf } from './types.js';

export function keyEntityProvider(keyring: Pick<Keyring, 'use'>): EntityProvider {
  return {
    type: KEY_ENTITY_TYPE,
    async get(id) {
      let key;
      try {
        ({ key } = await keyring.use(id));
      } catch (err) {
        if (isWardenError(err, 'WARDEN_NOT_FOUND')) return undefined;
        throw err;
      }
      return {
        entity: { uid: { type: KEY_ENTITY_TYPE, id: key.name }, attrs: { purpose: purposeOf(key.type), region: key.region }, parents: [], tags: { ...key.labels } },
        ancestors: [],
        version: `${key.id}:${key.updatedAt}`,
      };
    },
  };
}
