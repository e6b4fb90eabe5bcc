/**
 * Test child process for the SQLite audit writer: opens the audit log on the (migrated) SQLite file given
 * as the first argument, appends one entry and prints its index. Without `close` it ends WITHOUT closing
 * the log or the store: the process must stay alive while the append is in flight (the worker thread is
 * referenced then) and exit on its own afterwards (the idle worker is unreferenced). With `close` it
 * closes the log and the store: the process must stay alive until the worker has exited, then end.
 *
 *   node --import tsx src/testing/audit-writer-exit.ts <file> [close]
 */
import { openStore } from '../store/index.js';
import { openTestAuditLog, sampleEvent } from './audit-log.js';

const [path, mode] = process.argv.slice(2);
if (path === undefined || (mode !== undefined && mode !== 'close')) {
  process.stderr.write('usage: audit-writer-exit <sqlite file> [close]\n');
  process.exit(2);
}
const store = await openStore({ kind: 'sqlite', path });
const { log } = await openTestAuditLog(store);
// Nothing else keeps this process alive while the append is in flight.
const { index } = await log.append(sampleEvent(0));
process.stdout.write(`${index}\n`);
if (mode === 'close') {
  // Nothing else keeps this process alive while the worker closes its connection.
  await log.close();
  await store.close();
  process.stdout.write('closed\n');
}
