/**
 * The OAuth 2.0 authorization-server routes: `POST /oauth2/token` (client_credentials; RFC 6749, 7523,
 * 8707, 9449), `POST /oauth2/introspect` (RFC 7662, a client sees only its own tokens; anything invalid
 * is `{active: false}`), `POST /oauth2/revoke` (RFC 7009; 200 even for unknown tokens), and the public
 * `GET /.well-known/oauth-authorization-server` (RFC 8414) and `GET /.well-known/jwks.json`. The POST
 * routes take `application/x-www-form-urlencoded` (a parser registered in this plugin's scope only) and
 * answer errors in the RFC 6749 §5.2 JSON form `{error, error_description}` — never problem+json — with
 * `invalid_client` as 401 + `WWW-Authenticate: Basic realm="warden"`. The protocol logic lives in the
 * token service; this file only moves parameters between HTTP and it.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { OAuthError, type ClientAuthInput, type TokenService } from '../identity/token-service.js';

export interface OAuthRoutesOptions {
  readonly tokens: Pick<TokenService, 'token' | 'authenticate' | 'introspect' | 'revoke' | 'jwks' | 'metadata'>;
}

/** The RFC 6749 §5.1 token response. */
export const tokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.enum(['Bearer', 'DPoP']),
  expires_in: z.number().int(),
  scope: z.string().optional(),
});

/** The RFC 8414 metadata document (the members Warden publishes). */
export const authorizationServerMetadataSchema = z.object({
  issuer: z.string(),
  token_endpoint: z.string(),
  jwks_uri: z.string(),
  introspection_endpoint: z.string(),
  revocation_endpoint: z.string(),
  grant_types_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()),
  introspection_endpoint_auth_methods_supported: z.array(z.string()),
  revocation_endpoint_auth_methods_supported: z.array(z.string()),
  dpop_signing_alg_values_supported: z.array(z.string()),
});

type Form = Map<string, string[]>;
const formType = 'application/x-www-form-urlencoded';

function sendOAuthError(reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Basic realm="warden"');
  return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json').send({ error, error_description: description });
}

/** One value of a parameter that must not repeat (RFC 6749 §3.2); throws invalid_request when repeated. */
function single(form: Form, name: string): string | undefined {
  const values = form.get(name);
  if (values === undefined) return undefined;
  if (values.length > 1) throw new OAuthError('invalid_request', `${name} must not be repeated`, 'repeated_parameter');
  return values[0];
}

function basicCredentials(header: string | undefined): ClientAuthInput['basic'] {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

function clientAuth(request: FastifyRequest, form: Form): ClientAuthInput {
  const basic = basicCredentials(request.headers.authorization);
  const clientId = single(form, 'client_id');
  const clientSecret = single(form, 'client_secret');
  const assertionType = single(form, 'client_assertion_type');
  const assertion = single(form, 'client_assertion');
  return {
    ...(basic === undefined ? {} : { basic }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(clientSecret === undefined ? {} : { clientSecret }),
    ...(assertionType === undefined ? {} : { assertionType }),
    ...(assertion === undefined ? {} : { assertion }),
  };
}

const formOf = (request: FastifyRequest): Form => (request.body instanceof Map ? (request.body as Form) : new Map<string, string[]>());

export function oauthRoutes({ tokens }: OAuthRoutesOptions): FastifyPluginAsync {
  return async (app) => {
    app.addContentTypeParser(formType, { parseAs: 'string' }, (_request, body, done) => {
      const form: Form = new Map();
      for (const [k, v] of new URLSearchParams(body as string)) form.set(k, [...(form.get(k) ?? []), v]);
      done(null, form);
    });
    app.setErrorHandler(async (err, request, reply) => {
      if (err instanceof OAuthError) return sendOAuthError(reply, err.status, err.error, err.description);
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== undefined && status >= 400 && status < 500) return sendOAuthError(reply, 400, 'invalid_request', 'the request is malformed');
      request.log.error({ err }, 'oauth request failed');
      return reply.code(500).type('application/json').send({ error: 'server_error', error_description: 'an internal error occurred' });
    });
    const requireForm = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!(request.body instanceof Map)) return sendOAuthError(reply, 400, 'invalid_request', `the body must be ${formType}`);
    };

    app.post('/oauth2/token', { preHandler: requireForm, schema: { response: { 200: tokenResponseSchema } } }, async (request, reply) => {
      const form = formOf(request);
      const dpop = request.headers.dpop;
      if (Array.isArray(dpop)) return sendOAuthError(reply, 400, 'invalid_dpop_proof', 'only one DPoP header is allowed');
      const issued = await tokens.token({
        grantType: single(form, 'grant_type'),
        scope: single(form, 'scope'),
        resources: form.get('resource') ?? [],
        client: clientAuth(request, form),
        dpop,
        ip: request.ip,
        requestId: request.id,
      });
      return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send({
        access_token: issued.accessToken,
        token_type: issued.tokenType,
        expires_in: issued.expiresIn,
        ...(issued.scope === '' ? {} : { scope: issued.scope }),
      });
    });

    app.post('/oauth2/introspect', { preHandler: requireForm }, async (request, reply) => {
      const form = formOf(request);
      const clientId = await tokens.authenticate(clientAuth(request, form));
      const token = single(form, 'token');
      if (token === undefined) return sendOAuthError(reply, 400, 'invalid_request', 'token is required');
      return reply.send(await tokens.introspect(token, clientId));
    });

    app.post('/oauth2/revoke', { preHandler: requireForm }, async (request, reply) => {
      const form = formOf(request);
      const clientId = await tokens.authenticate(clientAuth(request, form));
      const token = single(form, 'token');
      if (token === undefined) return sendOAuthError(reply, 400, 'invalid_request', 'token is required');
      await tokens.revoke(token, clientId, { ip: request.ip, requestId: request.id });
      return reply.code(200).send();
    });

    app.get('/.well-known/oauth-authorization-server', { schema: { response: { 200: authorizationServerMetadataSchema } } }, async (_request, reply) => reply.send(tokens.metadata()));
    app.get('/.well-known/jwks.json', async (_request, reply) => reply.type('application/jwk-set+json').send(JSON.stringify(tokens.jwks())));
  };
}
