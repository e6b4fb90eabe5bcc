/**
 * The sink runner: one background loop per sink that exports the audit log in index order. It reads
 * from the sink's persisted cursor, maps a batch to OCSF (attaching the latest checkpoint to the
 * entries it covers), sends it, and only then advances the cursor: delivery is at-least-once, and the
 * entry index lets the destination drop a duplicate. When the sink or the log fails it retries the same
 * batch with exponential backoff (capped at 30 s), so a destination that comes back receives everything
 * it missed, in order. The loop never throws into and never blocks its caller: `start` returns at once
 * and errors only show up in the logger and in `lag()`.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from '../../log/index.js';
import type { AuditEntry } from '../event.js';
import { toOcsfEvent, type SinkCheckpoint } from './ocsf.js';
import type { SinkConfig } from '../../config/schema.js';
import type { SinkCursorRepository } from './cursor-repository.js';
import { createSink, type AuditSink, type SinkDeps } from './sink.js';

/** What a runner reads from the audit log. */
export interface SinkLogReader {
  /** The number of entries in the log (the next index to be appended). */
  size(): Promise<number>;
  /** Up to `limit` entries from index `start`, in index order. */
  entries(start: number, limit: number): Promise<AuditEntry[]>;
  latestCheckpoint(): Promise<SinkCheckpoint | undefined>;
}

export interface SinkLag {
  readonly name: string;
  /** The next index the sink will receive (every entry below it was accepted). */
  readonly nextIndex: number;
  /** The log size when last read. */
  readonly size: number;
  /** Entries not yet accepted: size - nextIndex. */
  readonly lag: number;
  /** The message of the last failure, while the sink is failing. */
  readonly lastError?: string;
  /** When (epoch ms) the sink last accepted a batch. */
  readonly lastSuccessAt?: number;
}

export interface SinkRunner {
  readonly name: string;
  /** Starts the loop (idempotent). Never throws. */
  start(): void;
  /** Stops the loop, waiting up to `stopGrace` for a batch in flight, then closes the sink. */
  stop(): Promise<void>;
  lag(): Promise<SinkLag>;
}

export interface SinkRunnerOptions {
  readonly sink: AuditSink;
  readonly log: SinkLogReader;
  readonly cursors: SinkCursorRepository;
  /** Milliseconds between polls once caught up. */
  readonly pollInterval: number;
  /** Most entries per batch. */
  readonly batchSize: number;
  readonly logger: Logger;
  /** First retry delay in ms (doubles per failure); 500 by default. */
  readonly initialBackoff?: number;
  /** Longest retry delay in ms; 30 000 by default. */
  readonly maxBackoff?: number;
  /** Most ms `stop` waits for a batch in flight before closing the sink under it; 5 000 by default. */
  readonly stopGrace?: number;
  readonly clock?: () => number;
}

export function createSinkRunner(options: SinkRunnerOptions): SinkRunner {
  const { sink, log, cursors, pollInterval, batchSize } = options;
  const logger = options.logger.child({ sink: sink.name });
  const initialBackoff = options.initialBackoff ?? 500;
  const maxBackoff = options.maxBackoff ?? 30_000;
  const stopGrace = options.stopGrace ?? 5_000;
  const clock = options.clock ?? Date.now;

  /** The next index to send (in memory; may be ahead of the persisted cursor after a store failure). */
  let nextIndex: number | undefined;
  let persisted: number | undefined;
  let lastSize = 0;
  let lastError: string | undefined;
  let lastSuccessAt: number | undefined;
  let failures = 0;
  let warnedAhead = false;
  let loop: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;

  /** Sends one batch if there is one; true when more entries may be waiting. */
  async function step(): Promise<boolean> {
    if (nextIndex === undefined) {
      nextIndex = await cursors.get(sink.name);
      persisted = nextIndex;
    }
    if (persisted !== nextIndex) {
      await cursors.set(sink.name, nextIndex);
      persisted = nextIndex;
    }
    const size = await log.size();
    lastSize = size;
    if (nextIndex > size && !warnedAhead) {
      // A cursor past the end of the log: a restored or replaced database. Nothing is sent until the
      // log grows past it; an operator who wants a re-export must reset the cursor.
      warnedAhead = true;
      logger.warn({ nextIndex, size }, 'audit sink cursor is past the end of the log');
    }
    if (nextIndex >= size) return false;
    const start = nextIndex;
    const entries = await log.entries(start, Math.min(batchSize, size - start));
    if (entries.length === 0) throw new Error(`the log returned no entries from index ${start} (size ${size})`);
    entries.forEach((entry, i) => {
      if (entry.index !== start + i) throw new Error(`the log returned index ${entry.index} where ${start + i} was expected`);
    });
    const checkpoint = await log.latestCheckpoint();
    await sink.send(entries.map((entry) => toOcsfEvent(entry, checkpoint)));
    nextIndex = start + entries.length;
    lastSuccessAt = clock();
    await cursors.set(sink.name, nextIndex);
    persisted = nextIndex;
    return nextIndex < size;
  }

  function backoff(): number {
    const ceiling = Math.min(maxBackoff, initialBackoff * 2 ** Math.min(failures - 1, 30));
    // Full jitter in the upper half, so many nodes retrying do not stay in step.
    return Math.ceil(ceiling / 2) + randomInt(Math.floor(ceiling / 2) + 1);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });
  }

  async function run(): Promise<void> {
    while (!stopping) {
      let delay: number;
      try {
        const more = await step();
        if (failures > 0) logger.info({ failures }, 'audit sink recovered');
        failures = 0;
        lastError = undefined;
        delay = more ? 0 : pollInterval;
      } catch (err) {
        failures += 1;
        lastError = describe(err);
        delay = backoff();
        logger.warn({ err: lastError, failures, retryInMs: delay, nextIndex }, 'audit sink export failed');
      }
      if (stopping) break;
      if (delay > 0) await sleep(delay);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  return {
    name: sink.name,
    start() {
      if (loop !== undefined || stopping) return;
      loop = run().catch((err: unknown) => {
        // run() catches everything itself; this only guards against a bug escaping it.
        logger.error({ err: describe(err) }, 'audit sink runner stopped');
      });
    },
    async stop() {
      stopping = true;
      wake?.();
      await within(loop, stopGrace);
      await sink.close().catch((err: unknown) => {
        logger.warn({ err: describe(err) }, 'audit sink close failed');
      });
      // A send that ignores close must not hold shutdown either.
      await within(loop, stopGrace);
    },
    async lag() {
      let index = nextIndex;
      if (index === undefined) index = await cursors.get(sink.name).catch(() => 0);
      lastSize = await log.size().catch(() => lastSize);
      return {
        name: sink.name,
        nextIndex: index,
        size: lastSize,
        lag: Math.max(0, lastSize - index),
        ...(lastError === undefined ? {} : { lastError }),
        ...(lastSuccessAt === undefined ? {} : { lastSuccessAt }),
      };
    },
  };
}

/** Batch size of sinks whose config has none (file, syslog). */
export const DEFAULT_SINK_BATCH_SIZE = 500;

export interface SinkRunnersDeps extends SinkDeps {
  readonly log: SinkLogReader;
  readonly cursors: SinkCursorRepository;
  /** `audit.sinkPollInterval`, in ms. */
  readonly pollInterval: number;
  /** Builds a sink from its config; `createSink` by default. */
  readonly createSink?: (config: SinkConfig, deps: SinkDeps) => AuditSink;
}

export interface SinkRunnerGroup {
  readonly runners: readonly SinkRunner[];
  start(): void;
  stop(): Promise<void>;
  lag(): Promise<SinkLag[]>;
}

/** A runner for every configured sink. Throws WARDEN_CONFIG_INVALID (at startup) when a sink config cannot work. */
export function createSinkRunners(configs: readonly SinkConfig[], deps: SinkRunnersDeps): SinkRunnerGroup {
  const build = deps.createSink ?? createSink;
  const runners = configs.map((config) =>
    createSinkRunner({
      sink: build(config, { env: deps.env, logger: deps.logger }),
      log: deps.log,
      cursors: deps.cursors,
      pollInterval: deps.pollInterval,
      batchSize: config.kind === 'http' ? config.batchSize : DEFAULT_SINK_BATCH_SIZE,
      logger: deps.logger,
    }),
  );
  return {
    runners,
    start() {
      for (const runner of runners) runner.start();
    },
    async stop() {
      await Promise.all(runners.map((runner) => runner.stop()));
    },
    lag() {
      return Promise.all(runners.map((runner) => runner.lag()));
    },
  };
}

/** Waits for `promise` (which never rejects), but no longer than `ms`. */
async function within(promise: Promise<void> | undefined, ms: number): Promise<void> {
  if (promise === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** An error's message with its cause's (WardenError messages are generic; the cause says what failed). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined || cause === '' ? err.message : `${err.message}: ${cause}`;
}
