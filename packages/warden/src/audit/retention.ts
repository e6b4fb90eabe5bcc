/**
 * Audit retention: entry bodies older than the horizon move to verified export bundles in the archive
 * directory and are then removed from the store; leaf hashes, tree nodes and checkpoints stay, so proofs
 * and checkpoints remain valid. A pass archives [a, b): `a` is the first entry with a stored body (bodies
 * are only removed here, front first, so the removed ones are a prefix and a binary search finds it), `b`
 * the largest signed checkpoint size such that every entry in [a, b) is older than the horizon — the
 * bundle ends exactly at a checkpoint and verifies. The bundle is written to a temp file, fsynced,
 * verified against the log's own verifier key and published under `audit-<a>-<b-1>.bundle` with link(2),
 * which never overwrites; then the pass is recorded in the log (durable) and only then are the bodies
 * removed, in one statement. Any failure before that removes nothing. On PostgreSQL a session advisory
 * lock (scoped to the store's schema) on a dedicated pool connection lets one node run at a time, so the
 * pool needs at least two connections; on SQLite one process runs retention, guarded in-process only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import type { AuditConfig } from '../config/schema.js';
import { WardenError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Database } from '../store/database.js';
import type { StoreKind } from '../store/migrations/index.js';
import { verifyBundle, writeBundle } from './bundle.js';
import type { AuditEntry } from './event.js';
import { MAX_READ, type AuditLog } from './log.js';
import type { VerifyReport } from './verify.js';

/** First key of the PostgreSQL advisory lock of a retention pass ("WRET"); the second is hashtext(current_schema()). */
export const RETENTION_LOCK_CLASS = 0x57524554;

export interface RetentionResult {
  /** Entries whose bodies this pass removed (0 when nothing was old enough or another node ran). */
  archived: number;
  /** First and last archived index. */
  from?: number;
  to?: number;
  /** Path of the bundle holding them. */
  bundle?: string;
}

export interface Retention {
  /** One pass; a call while a pass is running joins it. Throws WARDEN_AUDIT_VERIFY_FAILED or WARDEN_AUDIT_UNAVAILABLE. */
  runOnce(): Promise<RetentionResult>;
  /** Runs a pass every `interval` (the first after one interval); failures are logged. Idempotent. */
  start(): void;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

export interface RetentionOptions {
  readonly log: AuditLog;
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  readonly config: NonNullable<AuditConfig['retention']>;
  readonly logger: Pick<Logger, 'info' | 'error'>;
  /** Milliseconds since the epoch (tests). */
  readonly now?: () => number;
}

export function createRetention(options: RetentionOptions): Retention {
  const { log, db, kind, config, logger, now = Date.now } = options;
  let running: Promise<RetentionResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const pass = async (): Promise<RetentionResult> => {
    const range = await findRange(db, log, now() - config.horizon);
    if (range === undefined) return { archived: 0 };
    const { a, b } = range;
    const name = `audit-${a}-${b - 1}.bundle`;
    const { path, sha256 } = await archive(log, config.archiveDir, name, a, b);
    await log.append({
      class: 'entity_management',
      activityId: 4,
      action: 'audit.retention',
      actor: { type: 'system', id: 'warden' },
      resource: { type: 'audit_entries', id: `${a}-${b - 1}` },
      outcome: 'success',
      details: { from: a, to: b - 1, bundle: name, sha256 },
    });
    await db.transaction().execute(async (trx) => {
      const archived = trx.updateTable('audit_entries').set({ body: null }).where('idx', '>=', a).where('idx', '<', b);
      await archived.where('body', 'is not', null).execute();
    });
    logger.info({ from: a, to: b - 1, bundle: path }, 'audit retention archived entries');
    return { archived: b - a, from: a, to: b - 1, bundle: path };
  };

  /** PostgreSQL: the pass under the schema's retention lock, skipped when another session holds it. */
  const lockedPass = (): Promise<RetentionResult> =>
    db.connection().execute(async (conn) => {
      const key = sql`${sql.lit(RETENTION_LOCK_CLASS)}::int4, hashtext(current_schema())`;
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}) as locked`.execute(conn);
      if (rows[0]?.locked !== true) return { archived: 0 };
      try {
        return await pass();
      } finally {
        await sql`select pg_advisory_unlock(${key})`
          .execute(conn)
          .catch((err: unknown) => logger.error({ err }, 'audit retention: the advisory lock could not be released'));
      }
    });

  const runOnce = (): Promise<RetentionResult> => {
    running ??= (kind === 'postgres' ? lockedPass() : pass()).finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (): void => {
    if (stopped || config.interval <= 0) return;
    timer = setTimeout(() => {
      void runOnce()
        .catch((err: unknown) => logger.error({ err }, 'audit retention failed'))
        .finally(schedule);
    }, config.interval);
    timer.unref();
  };

  return {
    runOnce,
    start() {
      if (timer === undefined) schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

/** [a, b) to archive, or undefined when no checkpoint ends a run of old entries starting at a. */
async function findRange(db: Kysely<Database>, log: AuditLog, cutoff: number): Promise<{ a: number; b: number } | undefined> {
  const size = await log.size();
  let a = 0;
  for (let hi = size; a < hi; ) {
    const mid = Math.floor((a + hi) / 2);
    const entry = db.selectFrom('audit_entries').select('idx').where('idx', '=', mid);
    const stored = await entry.where('body', 'is not', null).executeTakeFirst();
    if (stored === undefined) a = mid + 1;
    else hi = mid;
  }
  if (a >= size) return undefined;
  const young = await db
    .selectFrom('audit_entries')
    .select('idx')
    .where('idx', '>=', a)
    .where('created_at', '>=', cutoff)
    .orderBy('idx')
    .limit(1)
    .executeTakeFirst();
  const end = young === undefined ? size : Math.min(size, Number(young.idx));
  const checkpoint = await db
    .selectFrom('audit_checkpoints')
    .select('size')
    .where('size', '>', a)
    .where('size', '<=', end)
    .orderBy('size', 'desc')
    .limit(1)
    .executeTakeFirst();
  return checkpoint === undefined ? undefined : { a, b: Number(checkpoint.size) };
}

/** Writes, fsyncs, verifies and publishes the bundle of [a, b) as `dir/name`; returns its path and SHA-256. */
async function archive(log: AuditLog, dir: string, name: string, a: number, b: number): Promise<{ path: string; sha256: string }> {
  const path = join(dir, name);
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeBundleFile(temp, log, a, b);
    } catch (cause) {
      throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'the audit archive bundle could not be written', {
        cause,
        details: { dir },
      });
    }
    let report: VerifyReport | undefined;
    let cause: unknown;
    try {
      report = await verifyBundle(temp, { verifierKey: log.verifierKey });
    } catch (err) {
      cause = err; // a bundle we cannot even read back
    }
    if (report?.ok !== true || report.size !== b || report.signedSize !== b) {
      const problem = report?.problem?.message;
      throw new WardenError('WARDEN_AUDIT_VERIFY_FAILED', 'the audit archive bundle does not verify; nothing was removed', {
        details: { from: a, size: b, ...(problem === undefined ? {} : { problem }) },
        ...(cause === undefined ? {} : { cause }),
      });
    }
    const sha256 = await fileSha256(temp);
    try {
      await link(temp, path);
    } catch (err) {
      // A pass that crashed after publishing left this very bundle (same range, same checkpoints): reuse it.
      const same = (err as NodeJS.ErrnoException).code === 'EEXIST' && (await fileSha256(path).catch(() => '')) === sha256;
      if (!same) {
        throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'the audit archive bundle could not be published', {
          cause: err,
          details: { path },
        });
      }
    }
    await syncPath(dir);
    return { path, sha256 };
  } finally {
    await rm(temp, { force: true }).catch(() => undefined); // fails only where the temp file could not exist
  }
}

/** Creates `path` (exclusively, 0600) holding the bundle of [a, b) and fsyncs it. */
async function writeBundleFile(path: string, log: AuditLog, a: number, b: number): Promise<void> {
  const checkpoints: string[] = [];
  for (let from = a + 1; ; ) {
    const page = await log.checkpoints(from, MAX_READ);
    for (const cp of page) if (cp.size <= b) checkpoints.push(cp.note);
    const last = page.at(-1);
    if (last === undefined || last.size >= b || page.length < MAX_READ) break;
    from = last.size + 1;
  }
  const prefix = { size: a, frontier: await log.frontier(a) };
  const header = { origin: log.origin, verifierKey: log.verifierKey, from: a, size: b, prefix };
  const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  const done = finished(stream);
  done.catch(() => undefined); // awaited below; when writeBundle throws first, its error is the one reported
  try {
    await writeBundle(stream, header, entries(log, a, b), checkpoints);
    stream.end();
  } catch (err) {
    stream.destroy();
    throw err;
  }
  await done;
  await syncPath(path);
}

async function* entries(log: AuditLog, a: number, b: number): AsyncGenerator<AuditEntry> {
  for (let next = a; next < b; ) {
    const page = await log.entries(next, Math.min(MAX_READ, b - next));
    if (page.length === 0) return;
    yield* page;
    next += page.length;
  }
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
