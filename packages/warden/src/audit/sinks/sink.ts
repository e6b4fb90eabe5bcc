/**
 * The `AuditSink` seam and its factory. A sink delivers batches of OCSF events to one destination (a
 * JSON-lines file, a syslog collector, an HTTP endpoint) and says whether the destination accepted
 * them: `send` resolves only once the batch is durable or acknowledged there, and rejects otherwise, so
 * the runner can advance its cursor only past accepted entries. `createSink` builds the sink a config
 * names; it checks the config (token present, CA readable) but opens no file or connection until the
 * first `send`.
 */
import type { SinkConfig } from '../../config/schema.js';
import type { Logger } from '../../log/index.js';
import { createFileSink } from './file-sink.js';
import { createHttpSink } from './http-sink.js';
import type { OcsfEvent } from './ocsf.js';
import { createSyslogSink } from './syslog-sink.js';

export interface AuditSink {
  /** The configured sink name (also the key of its cursor). */
  readonly name: string;
  /**
   * Delivers `batch` in order. Resolves when the destination accepted every event (file written and
   * fsynced; syslog frames written and flushed to the connection; HTTP 2xx); rejects otherwise, in
   * which case some events may have been delivered (the runner resends: at-least-once, and
   * `unmapped.warden.index` lets the destination drop duplicates). One batch at a time.
   */
  send(batch: readonly OcsfEvent[]): Promise<void>;
  /** Releases files and connections. Idempotent. */
  close(): Promise<void>;
}

export interface SinkDeps {
  /** The environment the token variables are read from (e.g. `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
}

/** Builds the sink `config` describes. Throws WARDEN_CONFIG_INVALID when the config cannot work. */
export function createSink(config: SinkConfig, deps: SinkDeps): AuditSink {
  const logger = deps.logger.child({ sink: config.name, kind: config.kind });
  switch (config.kind) {
    case 'file':
      return createFileSink(config, { logger });
    case 'syslog':
      return createSyslogSink(config, { logger });
    case 'http':
      return createHttpSink(config, { env: deps.env, logger });
  }
}
