/**
 * A guard for routes that must not be reachable from the network until admin authentication exists:
 * only loopback clients (127.0.0.0/8, ::1, IPv4-mapped loopback) pass; anyone else gets 403
 * WARDEN_FORBIDDEN.
 */
import type { FastifyRequest } from 'fastify';
import { WardenError } from '../errors/index.js';

export function isLoopback(ip: string): boolean {
  return ip === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

/** onRequest hook: refuse non-loopback callers. */
export async function loopbackOnly(request: FastifyRequest): Promise<void> {
  if (!isLoopback(request.socket.remoteAddress ?? '')) {
    throw new WardenError('WARDEN_FORBIDDEN', 'this route is only available from the local machine until admin authentication is configured');
  }
}
