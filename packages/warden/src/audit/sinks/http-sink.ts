/**
 * The HTTP sink: POSTs each batch with undici to a generic JSON webhook (`ocsf`: a JSON array of OCSF
 * events, `Authorization: Bearer <token>` when a token is configured) or to a Splunk HTTP Event
 * Collector (`splunk-hec`: newline-separated HEC event objects, `Authorization: Splunk <token>`; point
 * `url` at `/services/collector/event`). The token comes from the environment variable the config
 * names, is read once when the sink is built and is never logged. Only a 2xx answer within the
 * configured timeout accepts a batch; redirects are not followed. An optional CA bundle replaces the
 * system roots for TLS, and TLS is at least 1.2.
 */
import { hostname } from 'node:os';
import { Agent, request } from 'undici';
import type { SinkConfig } from '../../config/schema.js';
import { WardenError } from '../../errors/index.js';
import { redactUrl, type Logger } from '../../log/index.js';
import { readCa } from './ca-file.js';
import type { OcsfEvent } from './ocsf.js';
import type { AuditSink } from './sink.js';

export type HttpSinkConfig = Extract<SinkConfig, { kind: 'http' }>;

export interface HttpSinkDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** The `host` field of HEC events; the machine's host name by default. */
  readonly hostname?: string;
}

/** The request body for `batch` in `format`. */
export function httpBody(format: HttpSinkConfig['format'], batch: readonly OcsfEvent[], host: string): string {
  if (format === 'ocsf') return JSON.stringify(batch);
  return batch.map((event) => JSON.stringify(hecEvent(event, host))).join('\n');
}

/** One Splunk HEC event: `time` in epoch seconds (with milliseconds) when the event has one. */
function hecEvent(event: OcsfEvent, host: string): Record<string, unknown> {
  return {
    ...(event.time === undefined ? {} : { time: event.time / 1000 }),
    host,
    source: 'warden',
    sourcetype: 'ocsf',
    event,
  };
}

export function createHttpSink(config: HttpSinkConfig, deps: HttpSinkDeps): AuditSink {
  const authorization = authorizationHeader(config, deps.env);
  const host = deps.hostname ?? hostname();
  const ca = config.ca === undefined ? undefined : readCa(config.ca);
  const agent = new Agent({
    connect: { timeout: config.timeout, minVersion: 'TLSv1.2', ...(ca === undefined ? {} : { ca }) },
    headersTimeout: config.timeout,
    bodyTimeout: config.timeout,
  });
  const target = redactUrl(config.url);
  let closed = false;

  return {
    name: config.name,
    async send(batch) {
      if (closed) throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'audit sink is closed');
      if (batch.length === 0) return;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization !== undefined) headers.authorization = authorization;
      let statusCode: number;
      try {
        const response = await request(config.url, {
          method: 'POST',
          headers,
          body: httpBody(config.format, batch, host),
          dispatcher: agent,
          signal: AbortSignal.timeout(config.timeout),
        });
        statusCode = response.statusCode;
        await response.body.dump();
      } catch (err) {
        throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'audit sink request failed', {
          cause: err,
          details: { sink: config.name, url: target },
        });
      }
      if (statusCode < 200 || statusCode > 299) {
        throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', `audit sink answered HTTP ${statusCode}`, {
          details: { sink: config.name, url: target, status: statusCode },
        });
      }
      deps.logger.debug({ events: batch.length, status: statusCode }, 'audit batch delivered');
    },
    async close() {
      if (closed) return;
      closed = true;
      // destroy, not close: a request in flight is abandoned (and resent by the runner) rather than awaited.
      await agent.destroy();
    },
  };
}

function authorizationHeader(config: HttpSinkConfig, env: HttpSinkDeps['env']): string | undefined {
  if (config.tokenEnv === undefined) return undefined;
  const token = env[config.tokenEnv];
  if (token === undefined || token === '') {
    throw new WardenError('WARDEN_CONFIG_INVALID', `audit sink "${config.name}": environment variable ${config.tokenEnv} is not set`, {
      details: { sink: config.name, tokenEnv: config.tokenEnv },
    });
  }
  if (/[\r\n]/.test(token)) {
    throw new WardenError('WARDEN_CONFIG_INVALID', `audit sink "${config.name}": ${config.tokenEnv} holds a line break`);
  }
  return `${config.format === 'splunk-hec' ? 'Splunk' : 'Bearer'} ${token}`;
}
