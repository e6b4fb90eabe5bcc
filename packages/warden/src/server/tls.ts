/**
 * TLS for the listener: certificate and key from files, TLS 1.3 only, and optional client-certificate
 * verification against a CA bundle (mTLS). With `clientCert: require` a connection without a valid
 * client certificate fails the handshake; with `request` the certificate is asked for and verified, and
 * its result is left on the socket for authentication to read.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import type { TlsConfig } from '../config/index.js';
import { WardenError } from '../errors/index.js';

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new WardenError('WARDEN_CONFIG_INVALID', `cannot read TLS ${what} at ${path}`, { cause });
  }
}

/** node:https server options for a TLS config. */
export function httpsOptions(tls: TlsConfig): ServerOptions {
  const options: ServerOptions = {
    cert: readPem(tls.cert, 'certificate'),
    key: readPem(tls.key, 'key'),
    minVersion: 'TLSv1.3',
  };
  if (tls.clientCa) {
    options.ca = readPem(tls.clientCa, 'client CA');
    options.requestCert = true;
    options.rejectUnauthorized = tls.clientCert === 'require';
  }
  return options;
}
