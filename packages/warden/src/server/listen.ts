/**
 * The listen address: its URL (for the issuer and clients) and the resolution of an ephemeral port
 * (0) to a concrete free one before the server is built, so every URL Warden states is exact.
 */
import { createServer } from 'node:net';
import type { Config } from '../config/index.js';

type Listen = Config['listen'];

/** `http(s)://host:port` for a listen address (IPv6 hosts in brackets; wildcard hosts as loopback). */
export function listenUrl(listen: Pick<Listen, 'host' | 'port' | 'tls'>): string {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return `${listen.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

/** The configured port, or a free one the OS picks when it is 0. */
export async function resolvePort(listen: Pick<Listen, 'host' | 'port'>): Promise<number> {
  if (listen.port !== 0) return listen.port;
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, listen.host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
