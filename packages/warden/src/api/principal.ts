/**
 * The principal on a request: set by the authenticate hooks (agents: bearer/DPoP access tokens; admins:
 * session or admin tokens) and read by routes. Declared once here for every route.
 */
import type { Principal } from '../identity/types.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; undefined until an authenticate hook ran. */
    principal?: Principal;
  }
}

export type { Principal };
