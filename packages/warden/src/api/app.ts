/**
 * The HTTP application: a fastify instance with Warden's boundary rules — request ids on every request
 * and response, a body-size limit, zod request/response schemas, RFC 9457 problem+json for every error
 * (including unknown routes), and no-store/nosniff response headers. Routes are plugins registered by
 * the caller; this file knows no domain module.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { fastify, LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../log/index.js';
import './principal.js';
import { problemContentType, toProblem } from './problem.js';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: the caller's `x-request-id` when it is well-formed, otherwise a new UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
}

/**
 * One access line per request ("request completed" with the request, its status and time), not fastify's
 * two ("incoming request" and "request completed"): half the per-request log work on every call.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    request.log.info({ req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export interface AppOptions {
  logger: Logger;
  bodyLimit: number;
  /** Route plugins, registered in order. */
  routes: FastifyPluginAsync[];
  /** TLS options for node:https (see server/tls.ts); plain HTTP when absent. */
  https?: HttpsOptions;
}

/** Build the fastify application (not yet listening). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    genReqId: requestIdFor,
    requestIdHeader: false,
    forceCloseConnections: 'idle',
    logController: new AccessLog(),
    return503OnClosing: true,
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;

  app.decorateRequest('principal', undefined);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
  });

  app.setErrorHandler(async (err, request, reply) => {
    const { problem, internal } = toProblem(err, request.id);
    if (internal) request.log.error({ err }, 'request failed');
    else request.log.info({ code: problem.code }, 'request refused');
    return reply.code(problem.status).type(problemContentType).send(problem);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const { problem } = toProblem({ code: 'FST_ERR_NOT_FOUND' }, request.id);
    return reply.code(problem.status).type(problemContentType).send(problem);
  });

  for (const routes of options.routes) await app.register(routes);
  await app.ready();
  return app;
}
