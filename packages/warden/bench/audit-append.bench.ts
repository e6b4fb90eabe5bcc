/**
 * Benchmark: durable audit appends. SQLite (WAL, synchronous=FULL): 64 and 1024 concurrent appenders through
 * the group-commit appender vs a baseline of raw better-sqlite3 prepared inserts of the same rows
 * (entry + completed nodes) in ONE transaction; append latency at a paced ~5,000 entries/s (p50/p99);
 * PostgreSQL: 4 concurrent writers (4 AuditLogs, each with its own pool) on one schema. Each bench
 * iteration appends a fixed number of entries; entries/s and latencies are printed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import type { AuditLog } from '../src/audit/index.js';
import { createFrontier, entryBody, entryBytes, leafHash } from '../src/audit/index.js';
import type { PostgresStoreConfig } from '../src/config/schema.js';
import { openSqliteDatabase, openStore, type Store } from '../src/store/index.js';
import { openTestAuditLog, sampleEvent, type TestAuditLog } from '../src/testing/audit-log.js';
import { dropPostgresSchema, testPostgresUrl } from '../src/testing/stores.js';

const options = { time: 2000, warmupTime: 300 };
const SQLITE_PER_ITERATION = 10240;
/** Concurrent appenders: a moderate load, and a busy gateway (group commit batches grow with concurrency). */
const APPENDERS = [64, 1024] as const;
const PG_PER_ITERATION = 2000;
const PG_WRITERS = 4;
const figures: Record<string, { entries: number; ms: number }> = {};

const record = (name: string, entries: number, ms: number) => {
  const f = (figures[name] ??= { entries: 0, ms: 0 });
  f.entries += entries;
  f.ms += ms;
};

/** `count` appends from `concurrency` concurrent appenders. */
async function appendConcurrently(log: AuditLog, count: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await log.append(sampleEvent(next++, { args: 'tool arguments' }));
    }),
  );
}

// SQLite: the audit log, and a raw handle on another file with the same pragmas and schema.
const dir = await mkdtemp(join(tmpdir(), 'warden-audit-bench-'));
const sqliteStore = await openStore({ kind: 'sqlite', path: join(dir, 'warden.db') });
await sqliteStore.migrate();
const sqlite = await openTestAuditLog(sqliteStore);
const rawStore = await openStore({ kind: 'sqlite', path: join(dir, 'raw.db') });
await rawStore.migrate();
await rawStore.close();
const raw = openSqliteDatabase({ kind: 'sqlite', path: join(dir, 'raw.db') });
const rawEntry = raw.prepare('insert into audit_entries (idx, leaf_hash, body, created_at) values (?, ?, ?, ?)');
const rawNode = raw.prepare('insert into audit_nodes (level, idx, hash) values (?, ?, ?)');
const rawFrontier = createFrontier();

// PostgreSQL: one schema, PG_WRITERS stores (own pools) and logs.
const pgConfig: PostgresStoreConfig = {
  kind: 'postgres',
  url: testPostgresUrl,
  schema: `warden_bench_${randomBytes(6).toString('hex')}`,
  poolSize: 4,
};
const rootKey = randomBytes(32);
const pgStores: Store[] = [];
const pgLogs: TestAuditLog[] = [];
for (let i = 0; i < PG_WRITERS; i++) {
  const store = await openStore(pgConfig);
  if (i === 0) await store.migrate();
  pgStores.push(store);
  pgLogs.push(await openTestAuditLog(store, { rootKey }));
}

afterAll(async () => {
  for (const { log, barrier } of [sqlite, ...pgLogs]) {
    await log.close();
    barrier.close();
  }
  raw.close();
  await sqliteStore.close();
  for (const store of pgStores) await store.close();
  await dropPostgresSchema(pgConfig.schema);
  await rm(dir, { recursive: true, force: true });
  const lines = Object.entries(figures).map(
    ([name, f]) => `  ${name}: ${Math.round(f.entries / (f.ms / 1000)).toLocaleString('en-US')} entries/s`,
  );
  process.stdout.write(`\naudit append throughput (entries / time inside the bench function):\n${lines.join('\n')}\n`);
});

describe('sqlite: durable appends', () => {
  for (const appenders of APPENDERS) {
    bench(`warden: ${appenders} concurrent appenders, group commit (${SQLITE_PER_ITERATION} entries)`, async () => {
      const start = performance.now();
      await appendConcurrently(sqlite.log, SQLITE_PER_ITERATION, appenders);
      record(`sqlite warden group commit, ${appenders} appenders`, SQLITE_PER_ITERATION, performance.now() - start);
    }, options);
  }

  bench(`baseline: better-sqlite3, the same rows in ONE transaction (${SQLITE_PER_ITERATION} entries)`, () => {
    const start = performance.now();
    const time = new Date();
    raw.transaction(() => {
      for (let i = 0; i < SQLITE_PER_ITERATION; i++) {
        const index = rawFrontier.size;
        const bytes = entryBytes(entryBody(index, time, sampleEvent(i, { args: 'tool arguments' }), sqlite.log.hmac));
        const leaf = leafHash(bytes);
        rawEntry.run(index, leaf, bytes.toString('utf8'), time.getTime());
        for (const n of rawFrontier.append(leaf)) rawNode.run(n.level, n.index, n.hash);
      }
    })();
    record('sqlite baseline one transaction', SQLITE_PER_ITERATION, performance.now() - start);
  }, options);
});

describe('sqlite: latency at ~5,000 entries/s', () => {
  bench('warden: paced appends for 3 s, p50/p99 printed', async () => {
    const rate = 5000;
    const durationMs = 3000;
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < durationMs) {
      // Issue what is due every millisecond (timers cannot pace single 200 µs intervals).
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; sent < due; sent++) {
        const t0 = performance.now();
        pending.push(sqlite.log.append(sampleEvent(sent)).then(() => void latencies.push(performance.now() - t0)));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
    const achieved = Math.round(latencies.length / (durationMs / 1000));
    process.stdout.write(
      `\nsqlite append latency at ~${rate}/s (achieved ${achieved}/s, n=${latencies.length}): ` +
        `p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms\n`,
    );
  }, { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 });
});

describe('postgres: durable appends', () => {
  bench(`warden: ${PG_WRITERS} writers (own pools), 16 appenders each (${PG_PER_ITERATION} entries)`, async () => {
    const start = performance.now();
    await Promise.all(pgLogs.map(({ log }) => appendConcurrently(log, PG_PER_ITERATION / PG_WRITERS, 16)));
    record(`postgres warden ${PG_WRITERS} writers`, PG_PER_ITERATION, performance.now() - start);
  }, options);
});
