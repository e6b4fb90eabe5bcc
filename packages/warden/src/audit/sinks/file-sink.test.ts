/**
 * The file sink: JSON lines with mode 0600, appending across restarts, size rotation keeping
 * `maxFiles` rotated files, an oversized line, recovery after a torn last line, and failures as
 * rejections.
 */
import { appendFile, chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWardenError } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';
import { createFileSink, type FileSinkConfig } from './file-sink.js';
import { toOcsfEvent, type OcsfEvent } from './ocsf.js';
import { makeEntry } from '../../testing/audit-sinks.js';

const logger = createLogger({ level: 'silent' });
const events = (from: number, count: number): OcsfEvent[] =>
  Array.from({ length: count }, (_, i) => toOcsfEvent(makeEntry(from + i)));
const indexes = (text: string): number[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as OcsfEvent).unmapped.warden.index);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-file-sink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (extra: Partial<FileSinkConfig> = {}): FileSinkConfig => ({
  kind: 'file',
  name: 'archive',
  path: join(dir, 'audit', 'export.jsonl'),
  maxBytes: 1024 * 1024,
  maxFiles: 3,
  ...extra,
});

describe('file sink', () => {
  it('appends one OCSF event per line, mode 0600, across restarts', async () => {
    const cfg = config();
    const sink = createFileSink(cfg, { logger });
    const batch = events(0, 3);
    await sink.send(batch);
    await sink.close();
    const again = createFileSink(cfg, { logger });
    await again.send(events(3, 2));
    await again.close();
    const text = await readFile(cfg.path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(indexes(text)).toEqual([0, 1, 2, 3, 4]);
    expect(JSON.parse(text.split('\n')[0]!)).toEqual(batch[0]);
    expect((await stat(cfg.path)).mode & 0o777).toBe(0o600);
  });

  it('rotates by size and keeps maxFiles rotated files, losing nothing in between', async () => {
    const lineBytes = Buffer.byteLength(`${JSON.stringify(events(0, 1)[0])}\n`);
    const cfg = config({ maxBytes: lineBytes * 4 + 10, maxFiles: 2 });
    const sink = createFileSink(cfg, { logger });
    await sink.send(events(0, 6));
    await sink.send(events(6, 3));
    const listing = async () => (await readdir(join(dir, 'audit'))).sort();
    expect(await listing()).toEqual(['export.jsonl', 'export.jsonl.1', 'export.jsonl.2']);
    const read = async (suffix: string) => indexes(await readFile(`${cfg.path}${suffix}`, 'utf8'));
    expect(await read('.2')).toEqual([0, 1, 2, 3]);
    expect(await read('.1')).toEqual([4, 5, 6, 7]);
    expect(await read('')).toEqual([8]);
    // One more rotation: the oldest file is dropped.
    await sink.send(events(9, 4));
    expect(await listing()).toEqual(['export.jsonl', 'export.jsonl.1', 'export.jsonl.2']);
    expect(await read('.2')).toEqual([4, 5, 6, 7]);
    expect(await read('.1')).toEqual([8, 9, 10, 11]);
    expect(await read('')).toEqual([12]);
    for (const name of await listing()) expect((await stat(join(dir, 'audit', name))).mode & 0o777).toBe(0o600);
    await sink.close();
  });

  it('gives a line longer than maxBytes a file of its own', async () => {
    const cfg = config({ maxBytes: 100, maxFiles: 5 });
    const sink = createFileSink(cfg, { logger });
    await sink.send(events(0, 2));
    await sink.close();
    expect(indexes(await readFile(`${cfg.path}.1`, 'utf8'))).toEqual([0]);
    expect(indexes(await readFile(cfg.path, 'utf8'))).toEqual([1]);
  });

  it('starts on a fresh line after a torn last line, and tightens the file mode', async () => {
    const cfg = config();
    const sink = createFileSink(cfg, { logger });
    await sink.send(events(0, 1));
    await sink.close();
    await appendFile(cfg.path, '{"class_uid":60');
    await chmod(cfg.path, 0o644);
    const again = createFileSink(cfg, { logger });
    await again.send(events(1, 1));
    await again.close();
    const lines = (await readFile(cfg.path, 'utf8')).split('\n');
    expect(lines[1]).toBe('{"class_uid":60');
    expect((JSON.parse(lines[2]!) as OcsfEvent).unmapped.warden.index).toBe(1);
    expect((await stat(cfg.path)).mode & 0o777).toBe(0o600);
  });

  it('rejects when the file cannot be written, and after close', async () => {
    await writeFile(join(dir, 'not-a-dir'), '');
    const sink = createFileSink(config({ path: join(dir, 'not-a-dir', 'export.jsonl') }), { logger });
    await expect(sink.send(events(0, 1))).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_AUDIT_UNAVAILABLE'));
    const ok = createFileSink(config(), { logger });
    await ok.close();
    await expect(ok.send(events(0, 1))).rejects.toSatisfy((e) => isWardenError(e, 'WARDEN_AUDIT_UNAVAILABLE'));
  });
});
