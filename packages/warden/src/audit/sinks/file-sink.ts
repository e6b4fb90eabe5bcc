/**
 * The file sink: JSON lines, one OCSF event per line, appended to `path` (mode 0600, parent directory
 * created 0700 when missing) and fsynced before a batch is accepted. When the next line would take the
 * file past `maxBytes` it is rotated: `<path>.<n>` → `<path>.<n+1>` down to `<path>` → `<path>.1`, keeping
 * `maxFiles` rotated files besides the active one (the oldest is overwritten), and the directory is
 * fsynced so the renames survive a crash. A single line longer than `maxBytes` gets a file of its own.
 * If a previous run died mid-line, the next write starts on a fresh line so every complete line stays
 * parseable.
 */
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SinkConfig } from '../../config/schema.js';
import { WardenError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { AuditSink } from './sink.js';

export type FileSinkConfig = Extract<SinkConfig, { kind: 'file' }>;

export interface FileSinkDeps {
  readonly logger: Logger;
}

interface OpenFile {
  readonly handle: FileHandle;
  size: number;
}

export function createFileSink(config: FileSinkConfig, deps: FileSinkDeps): AuditSink {
  const { path, maxBytes, maxFiles } = config;
  let file: OpenFile | undefined;
  let closed = false;
  /** Operations run one at a time (a send never overlaps a rotation or close). */
  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(op: () => Promise<T>): Promise<T> => {
    const next = queue.then(op, op);
    queue = next.catch(() => undefined);
    return next;
  };

  async function openFile(): Promise<OpenFile> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // a+: append-only writes, and reads to check how the last run ended.
    const handle = await open(path, 'a+', 0o600);
    try {
      await handle.chmod(0o600);
      const { size } = await handle.stat();
      const opened: OpenFile = { handle, size };
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await append(opened, Buffer.from('\n'));
      }
      return opened;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  async function append(target: OpenFile, data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await target.handle.write(data, offset, data.length - offset);
      offset += bytesWritten;
    }
    target.size += data.length;
  }

  async function rotate(current: OpenFile): Promise<OpenFile> {
    await current.handle.sync();
    await current.handle.close();
    file = undefined;
    await unlink(`${path}.${maxFiles}`).catch(ignoreMissing);
    for (let n = maxFiles - 1; n >= 1; n -= 1) {
      await rename(`${path}.${n}`, `${path}.${n + 1}`).catch(ignoreMissing);
    }
    await rename(path, `${path}.1`);
    await syncDirectory(dirname(path));
    deps.logger.info({ path }, 'audit export file rotated');
    file = await openFile();
    return file;
  }

  async function write(batch: readonly string[]): Promise<void> {
    file ??= await openFile();
    let current = file;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for (const line of batch) {
      const bytes = Buffer.from(`${line}\n`, 'utf8');
      if (current.size + pendingBytes > 0 && current.size + pendingBytes + bytes.length > maxBytes) {
        await append(current, Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
        current = await rotate(current);
      }
      pending.push(bytes);
      pendingBytes += bytes.length;
    }
    await append(current, Buffer.concat(pending));
    await current.handle.sync();
  }

  return {
    name: config.name,
    send(batch) {
      return serialize(async () => {
        if (closed) throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'audit sink is closed');
        if (batch.length === 0) return;
        try {
          await write(batch.map((event) => JSON.stringify(event)));
        } catch (err) {
          // Start from a fresh handle next time (the size we track may no longer be right).
          const broken = file;
          file = undefined;
          await broken?.handle.close().catch(() => undefined);
          throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'audit export file write failed', {
            cause: err,
            details: { sink: config.name, path },
          });
        }
      });
    },
    close() {
      return serialize(async () => {
        closed = true;
        const current = file;
        file = undefined;
        await current?.handle.close();
      });
    },
  };
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
