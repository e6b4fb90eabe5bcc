/**
 * The logger: pino JSON lines with secrets redacted. Authorization headers, cookies, tokens, passwords,
 * passphrases, PINs and key material are replaced by "[REDACTED]" wherever they appear as a field, and
 * the values of sensitive query parameters are removed from logged URLs.
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

const sensitiveFields = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'proxy-authorization',
  'password',
  'passphrase',
  'pin',
  'secret',
  'client_secret',
  'clientSecret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'assertion',
  'client_assertion',
  'privateKey',
  'private_key',
  'rootKey',
  'plaintext',
  'keyMaterial',
];

/** Redaction paths: each sensitive field at the top level and up to three levels deep. */
export const redactPaths: string[] = sensitiveFields.flatMap((field) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
  const dotted = key.startsWith('[') ? key : `.${key}`;
  return [key.startsWith('[') ? field : key, `*${dotted}`, `*.*${dotted}`, `*.*.*${dotted}`];
});

const sensitiveQuery = /(token|secret|password|passphrase|assertion|code|key|pin)/i;

/** A URL with the values of sensitive query parameters replaced, for logging. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && sensitiveQuery.test(decodeURIComponentSafe(name)) ? `${name}=[REDACTED]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; standard output by default. */
  destination?: DestinationStream;
}

/** Create the process logger. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'warden' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[REDACTED]' },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string; id?: string }) => ({
          method: req.method,
          url: req.url === undefined ? undefined : redactUrl(req.url),
          remoteAddress: req.ip,
        }),
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}
