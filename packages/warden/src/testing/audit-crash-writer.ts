/**
 * Crash-test child process: opens the audit log on the SQLite file `<dataDir>/warden.db` or on a
 * PostgreSQL schema (`postgres <url> <schema>`), with the 32-byte root key given in hex as
 * WARDEN_TEST_ROOT_KEY, then appends as fast as it can with `CONCURRENCY` concurrent appenders and
 * prints each acknowledged (durable) index on its own line until it is killed. Prints `ready` first.
 *
 *   node --import tsx src/testing/audit-crash-writer.ts sqlite <dataDir>
 *   node --import tsx src/testing/audit-crash-writer.ts postgres <url> <schema>
 */
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { openTestAuditLog, sampleEvent } from './audit-log.js';

const CONCURRENCY = 32;
const [kind, target, schema] = process.argv.slice(2);
const rootKey = Buffer.from(process.env.WARDEN_TEST_ROOT_KEY ?? '', 'hex');
if (target === undefined || rootKey.length !== 32 || (kind !== 'sqlite' && kind !== 'postgres')) {
  process.stderr.write('usage: audit-crash-writer sqlite <dataDir> | postgres <url> <schema> (WARDEN_TEST_ROOT_KEY=<64 hex>)\n');
  process.exit(2);
}
const store =
  kind === 'sqlite'
    ? await openStore({ kind: 'sqlite', path: join(target, 'warden.db') })
    : await openStore({ kind: 'postgres', url: target, schema: schema ?? 'public', poolSize: 4 });
await store.migrate();
const { log } = await openTestAuditLog(store, { rootKey, config: { checkpointInterval: 20 } });
process.stdout.write('ready\n');
let n = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    for (;;) {
      const { index } = await log.append(sampleEvent(n++, { secret: `s-${n}` }));
      process.stdout.write(`${index}\n`);
    }
  }),
);
