/**
 * The sink runner: a destination that goes down catches up with nothing lost, reordered or duplicated
 * (HTTP and syslog, real receivers); the cursor survives a runner restart on both store backends; a
 * failing sink, log or cursor store never throws into the caller; backoff, checkpoint attachment, lag,
 * and `createSinkRunners` over configs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../log/index.js';
import { storeBackends } from '../../testing/stores.js';
import { createSinkCursorRepository, type SinkCursorRepository } from './cursor-repository.js';
import { createHttpSink } from './http-sink.js';
import type { OcsfEvent } from './ocsf.js';
import { createSinkRunner, createSinkRunners, type SinkRunner } from './sink-runner.js';
import type { AuditSink } from './sink.js';
import { createSyslogSink } from './syslog-sink.js';
import {
  createFakeLog,
  parseRfc5424,
  startHttpReceiver,
  startSyslogReceiver,
  until,
  type HttpReceiver,
  type SyslogReceiver,
} from '../../testing/audit-sinks.js';

const logger = createLogger({ level: 'silent' });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function memoryCursors(): SinkCursorRepository & { values: Map<string, number> } {
  const values = new Map<string, number>();
  return {
    values,
    async get(name) {
      return values.get(name) ?? 0;
    },
    async set(name, next) {
      values.set(name, Math.max(next, values.get(name) ?? 0));
    },
  };
}

/** A sink that records batches and can be told to fail. */
function memorySink(name = 'mem'): AuditSink & { received: number[]; attempts: number[]; failing: boolean | 'sync'; closed: boolean } {
  const sink = {
    name,
    received: [] as number[],
    attempts: [] as number[],
    failing: false as boolean | 'sync',
    closed: false,
    send(batch: readonly OcsfEvent[]): Promise<void> {
      sink.attempts.push(Date.now());
      if (sink.failing === 'sync') throw new Error('sink exploded synchronously');
      if (sink.failing) return Promise.reject(new Error('destination down'));
      sink.received.push(...batch.map((e) => e.unmapped.warden.index));
      return Promise.resolve();
    },
    async close() {
      sink.closed = true;
    },
  };
  return sink;
}

const httpIndexes = (r: HttpReceiver) => r.requests.flatMap((req) => (JSON.parse(req.body) as OcsfEvent[]).map((e) => e.unmapped.warden.index));
const syslogIndexes = (r: SyslogReceiver) => r.messages.map((m) => Number(parseRfc5424(m).sd[0]?.params.index));

const runners: SinkRunner[] = [];
const receivers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});
const track = <T extends SinkRunner>(runner: T): T => (runners.push(runner), runner);

const fast = { pollInterval: 10, initialBackoff: 10, maxBackoff: 50, logger } as const;

describe('sink runner', () => {
  it('catches an HTTP destination up after it was down: nothing lost, reordered or duplicated', async () => {
    const log = createFakeLog();
    const cursors = memoryCursors();
    let receiver = await startHttpReceiver();
    const port = receiver.port;
    const sink = createHttpSink(
      { kind: 'http', name: 'siem', url: receiver.url, format: 'ocsf', batchSize: 7, timeout: 1_000 },
      { env: {}, logger },
    );
    const runner = track(createSinkRunner({ sink, log, cursors, batchSize: 7, ...fast }));
    runner.start();
    log.append(10);
    await until(() => httpIndexes(receiver).length === 10);
    await receiver.stop();
    log.append(53);
    await until(async () => (await runner.lag()).lastError !== undefined);
    const down = await runner.lag();
    expect(down).toMatchObject({ name: 'siem', nextIndex: 10, size: 63, lag: 53 });
    const before = httpIndexes(receiver);
    receiver = await startHttpReceiver({ port });
    receivers.push(receiver);
    await until(() => cursors.values.get('siem') === 63);
    expect([...before, ...httpIndexes(receiver)]).toEqual(range(0, 63));
    expect(httpIndexes(receiver)).toEqual(range(10, 63));
    expect(receiver.requests.every((r) => (JSON.parse(r.body) as unknown[]).length <= 7)).toBe(true);
    const caughtUp = await runner.lag();
    expect(caughtUp).toMatchObject({ nextIndex: 63, size: 63, lag: 0 });
    expect(caughtUp.lastError).toBeUndefined();
    expect(caughtUp.lastSuccessAt).toBeGreaterThan(0);
  });

  it('catches a syslog collector up after it restarted, replaying the last batch of the lost connection', async () => {
    const log = createFakeLog();
    let receiver = await startSyslogReceiver();
    const port = receiver.port;
    const sink = createSyslogSink({ kind: 'syslog', name: 'syslog', host: '127.0.0.1', port, appName: 'warden' }, { logger });
    const cursors = memoryCursors();
    const runner = track(createSinkRunner({ sink, log, cursors, batchSize: 5, ...fast }));
    runner.start();
    log.append(4);
    await until(() => receiver.messages.length === 4);
    const first = syslogIndexes(receiver);
    await receiver.stop();
    log.append(20);
    await until(async () => (await runner.lag()).lastError !== undefined);
    receiver = await startSyslogReceiver({ port });
    receivers.push(receiver);
    await until(() => cursors.values.get('syslog') === 24);
    expect(first).toEqual(range(0, 4));
    // Nothing lost, in order; the batch written just before the collector went away is replayed
    // (syslog has no acknowledgement, so it may have been lost with the connection).
    const r = receiver;
    await until(() => r.messages.length >= 24);
    expect(syslogIndexes(receiver)).toEqual(range(0, 24));
  });

  describe.each(storeBackends)('with cursors on $name', (backend) => {
    it('resumes from the persisted cursor after a restart', async () => {
      const opened = await backend.openMigrated();
      try {
        const log = createFakeLog();
        const cursors = createSinkCursorRepository(opened.store.db);
        const first = memorySink('archive');
        const runner1 = createSinkRunner({ sink: first, log, cursors, batchSize: 4, ...fast });
        runner1.start();
        log.append(10);
        await until(async () => (await cursors.get('archive')) === 10);
        await runner1.stop();
        expect(first.closed).toBe(true);
        expect(first.received).toEqual(range(0, 10));
        log.append(5);
        const second = memorySink('archive');
        const runner2 = track(createSinkRunner({ sink: second, log, cursors, batchSize: 4, ...fast }));
        expect(await runner2.lag()).toMatchObject({ nextIndex: 10, size: 15, lag: 5 });
        runner2.start();
        await until(async () => (await cursors.get('archive')) === 15);
        expect(second.received).toEqual(range(10, 15));
      } finally {
        await opened.cleanup();
      }
    });
  });

  it('never throws into the caller when the sink, the log or the cursor store fail', async () => {
    const log = createFakeLog();
    const sink = memorySink();
    sink.failing = 'sync';
    let cursorFailures = 2;
    const base = memoryCursors();
    const cursors: SinkCursorRepository = {
      get: (name) => base.get(name),
      async set(name, next) {
        if (cursorFailures > 0) {
          cursorFailures -= 1;
          throw new Error('store down');
        }
        await base.set(name, next);
      },
    };
    const runner = track(createSinkRunner({ sink, log, cursors, batchSize: 3, ...fast }));
    log.append(5);
    expect(() => runner.start()).not.toThrow();
    expect(() => runner.start()).not.toThrow();
    await until(async () => (await runner.lag()).lastError === 'sink exploded synchronously');
    expect(await runner.lag()).toMatchObject({ nextIndex: 0, lag: 5 });
    log.failing = true;
    sink.failing = false;
    await until(async () => (await runner.lag()).lastError === 'log unavailable');
    log.failing = false;
    await until(() => base.values.get('mem') === 5);
    // The batch accepted while the cursor store was down was not sent again.
    expect(sink.received).toEqual(range(0, 5));
    expect((await runner.lag()).lastError).toBeUndefined();
  });

  it('backs off exponentially while the sink fails', async () => {
    const log = createFakeLog();
    const sink = memorySink();
    sink.failing = true;
    const runner = track(
      createSinkRunner({ sink, log, cursors: memoryCursors(), batchSize: 10, pollInterval: 10, initialBackoff: 20, maxBackoff: 10_000, logger }),
    );
    log.append(1);
    runner.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    // Delays of at least 10, 20, 40, 80, 160, 320 ms: no more than 7 attempts fit in 600 ms.
    expect(sink.attempts.length).toBeGreaterThanOrEqual(3);
    expect(sink.attempts.length).toBeLessThanOrEqual(7);
    const gaps = sink.attempts.slice(1).map((t, i) => t - sink.attempts[i]!);
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
  });

  it('attaches the latest checkpoint to the entries it covers', async () => {
    const log = createFakeLog();
    const batches: OcsfEvent[][] = [];
    const sink: AuditSink = { name: 'cp', send: async (b) => void batches.push([...b]), close: async () => undefined };
    log.append(5);
    log.setCheckpoint({ size: 3, root: Buffer.alloc(32, 9), note: 'note' });
    const runner = track(createSinkRunner({ sink, log, cursors: memoryCursors(), batchSize: 10, ...fast }));
    runner.start();
    await until(() => batches.flat().length === 5);
    const sizes = batches.flat().map((e) => e.unmapped.warden.checkpoint?.size);
    expect(sizes).toEqual([3, 3, 3, undefined, undefined]);
  });

  it('stops within the grace period when a send hangs, closing the sink', async () => {
    const log = createFakeLog();
    let closed = false;
    const sink: AuditSink = { name: 'hang', send: () => new Promise(() => undefined), close: async () => void (closed = true) };
    const runner = createSinkRunner({ sink, log, cursors: memoryCursors(), batchSize: 10, ...fast, stopGrace: 50 });
    log.append(1);
    runner.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const started = Date.now();
    await Promise.race([runner.stop(), new Promise((resolve) => setTimeout(resolve, 500))]);
    expect(Date.now() - started).toBeLessThan(400);
    expect(closed).toBe(true);
  });

  it('createSinkRunners builds, starts, reports and stops a runner per config', async () => {
    const log = createFakeLog();
    const cursors = memoryCursors();
    const sinks: ReturnType<typeof memorySink>[] = [];
    const group = createSinkRunners(
      [
        { kind: 'file', name: 'a', path: '/unused', maxBytes: 4096, maxFiles: 1 },
        { kind: 'http', name: 'b', url: 'http://127.0.0.1:1/', format: 'ocsf', batchSize: 2, timeout: 1000 },
      ],
      {
        log,
        cursors,
        pollInterval: 10,
        env: {},
        logger,
        createSink: (config) => {
          const sink = memorySink(config.name);
          sinks.push(sink);
          return sink;
        },
      },
    );
    log.append(3);
    group.start();
    await until(() => cursors.values.get('a') === 3 && cursors.values.get('b') === 3);
    expect((await group.lag()).map((l) => [l.name, l.lag])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
    await group.stop();
    expect(sinks.map((s) => [s.received, s.closed])).toEqual([
      [[0, 1, 2], true],
      [[0, 1, 2], true],
    ]);
  });
});
