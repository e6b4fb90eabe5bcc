/**
 * Key operation routes (data plane): `POST /v1/keys/{name}/encrypt | decrypt | rewrap | datakey | sign
 * | verify | hmac | hmac/verify`. The caller is an agent (access token for `<issuer>/v1/keys`, Bearer or
 * DPoP) or an admin (`wdn_` session or admin token); each call is authorized per key, per operation and
 * per encryption context by the operator's policies (`kms/operations.ts`). A body is one item or
 * `{ "batch": [items] }`: one item answers with its result or a problem+json; a batch answers 200 with one
 * result per item, each `{ …result }` or `{ "error": { code, status, title, detail } }`. Binary values
 * are base64. The response carries `Warden-Audit-Index` (the last decision's audit entry).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorCatalog, type WardenError } from '../errors/index.js';
import { ADMIN_TOKEN_PREFIX, type AdminSessions } from '../identity/admin-sessions.js';
import { DATA_KEY_BITS, MAX_CONTEXT_ENTRY_BYTES, MAX_CONTEXT_PAIRS, keyNamePattern, type Caller, type ItemResult, type KeyOperations, type OperationResult } from '../kms/index.js';
import { bearerToken } from './admin-auth.js';
import { setAuditReceipt } from './audit-receipt.js';
import './principal.js';

export interface KeyOperationRoutesOptions {
  readonly operations: KeyOperations;
  /** The agent authenticate stage (`requireAgent` for `<issuer>/v1/keys`). */
  readonly authenticateAgent: onRequestAsyncHookHandler;
  readonly sessions: Pick<AdminSessions, 'authenticate'>;
}

/** Items per batch. */
export const MAX_BATCH = 1000;
/** Plaintext, message or data per item: 64 KiB (as base64). */
const MAX_ITEM_BASE64 = Math.ceil((64 * 1024) / 3) * 4;

const bytes = z.base64().max(MAX_ITEM_BASE64);
/** A ciphertext, signature or MAC string: the base64 of up to 64 KiB plus Warden's prefix and header. */
const text = z.string().min(1).max(MAX_ITEM_BASE64 + 256);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** A context string: well-formed Unicode (a lone surrogate would collide with U+FFFD), at most MAX_CONTEXT_ENTRY_BYTES of UTF-8. */
const contextText = (min: number) =>
  z
    .string()
    .min(min)
    .refine((v) => !LONE_SURROGATE.test(v) && Buffer.byteLength(v, 'utf8') <= MAX_CONTEXT_ENTRY_BYTES, `well-formed text of at most ${MAX_CONTEXT_ENTRY_BYTES} bytes`);
const context = z
  .record(contextText(1), contextText(0))
  .refine((c) => Object.keys(c).length <= MAX_CONTEXT_PAIRS, `at most ${MAX_CONTEXT_PAIRS} context entries`)
  .optional();
const signInput = { message: bytes.optional(), digest: bytes.optional() };
const oneOfMessageOrDigest = (item: { message?: string; digest?: string }) => (item.message === undefined) !== (item.digest === undefined);
const messageOrDigest = 'give exactly one of message and digest';

const items = {
  encrypt: z.strictObject({ plaintext: bytes, context }),
  decrypt: z.strictObject({ ciphertext: text, context }),
  rewrap: z.strictObject({ ciphertext: text, context }),
  datakey: z.strictObject({ bits: z.union(DATA_KEY_BITS.map((b) => z.literal(b))).default(256), plaintext: z.boolean().default(false), context }),
  sign: z.strictObject(signInput).refine(oneOfMessageOrDigest, messageOrDigest),
  verify: z.strictObject({ ...signInput, signature: text }).refine(oneOfMessageOrDigest, messageOrDigest),
  hmac: z.strictObject({ data: bytes }),
  'hmac/verify': z.strictObject({ data: bytes, hmac: text }),
};
type Operation = keyof typeof items;
const bodyOf = <T extends z.ZodType>(item: T) => z.union([z.strictObject({ batch: z.array(item).min(1).max(MAX_BATCH) }), item]);
const nameParams = z.strictObject({ name: z.string().regex(keyNamePattern) });

const b64 = (value: string | undefined) => (value === undefined ? undefined : Buffer.from(value, 'base64'));

/** The caller of a request, from the principal the authenticate stage set (also used by `tokens.ts`). */
export function callerOf(request: FastifyRequest): Caller {
  const principal = request.principal;
  const source = { ip: request.ip, requestId: request.id };
  if (principal?.kind === 'admin') {
    const role = { type: 'Warden::AdminRole', id: principal.role };
    return {
      principal: { type: 'Warden::Admin', id: principal.admin },
      entities: [{ uid: { type: 'Warden::Admin', id: principal.admin }, attrs: { role: principal.role }, parents: [role] }, { uid: role, attrs: {}, parents: [] }],
      actor: { type: 'admin', id: principal.admin },
      source,
    };
  }
  if (principal?.kind === 'agent') return { principal: { type: 'Warden::Agent', id: principal.agent }, actor: { type: 'agent', id: principal.agent }, source };
  throw new Error('key operation without an authenticated caller');
}

/** Base64-encodes Buffers of a result for JSON. */
function encode(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
  return out;
}

/** The error of one batch item, as it goes on the wire (`{ error: { code, status, title, detail } }`). */
export function itemError(error: WardenError): { error: { code: string; status: number; title: string; detail: string } } {
  const { code, message } = error;
  const spec = errorCatalog[code];
  return { error: { code, status: spec.status, title: spec.title, detail: message } };
}

/** The wire schema of `itemError`. */
export const itemErrorSchema = z.strictObject({ error: z.strictObject({ code: z.string(), status: z.number().int(), title: z.string(), detail: z.string() }) });

function itemJson(result: ItemResult<Record<string, unknown>>): Record<string, unknown> {
  return result.ok ? encode(result.value) : itemError(result.error);
}

/**
 * The authenticate stage of routes agents and admins both call: admins (by their token prefix) with
 * their session, everyone else as an agent (also used by `tokens.ts`).
 */
export function authenticateAgentOrAdmin(authenticateAgent: onRequestAsyncHookHandler, sessions: Pick<AdminSessions, 'authenticate'>): onRequestAsyncHookHandler {
  return async function (request, reply) {
    const token = bearerToken(request);
    if (token?.startsWith(ADMIN_TOKEN_PREFIX)) {
      request.principal = await sessions.authenticate(token);
      return;
    }
    return authenticateAgent.call(this, request, reply);
  };
}

export function keyOperationRoutes({ operations, authenticateAgent, sessions }: KeyOperationRoutesOptions): FastifyPluginAsync {
  const authenticate = authenticateAgentOrAdmin(authenticateAgent, sessions);

  async function respond(reply: FastifyReply, batch: boolean, outcome: OperationResult<Record<string, unknown>>) {
    const receipt = outcome.decisions.reduce<number | undefined>((max, d) => (d.auditIndex === undefined ? max : Math.max(max ?? -1, d.auditIndex)), undefined);
    if (receipt !== undefined) setAuditReceipt(reply, receipt);
    if (batch) return { batch: outcome.results.map(itemJson) };
    const [only] = outcome.results;
    if (!only) throw new Error('no result');
    if (!only.ok) throw only.error;
    return encode(only.value);
  }

  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const route = <O extends Operation>(op: O, run: (caller: Caller, name: string, list: z.output<(typeof items)[O]>[]) => Promise<OperationResult<Record<string, unknown>>>) => {
      app.post(`/v1/keys/:name/${op}`, { onRequest: authenticate, schema: { params: nameParams, body: bodyOf(items[op]) } }, async (request, reply) => {
        const body = request.body as { batch: z.output<(typeof items)[O]>[] } | z.output<(typeof items)[O]>;
        const batch = typeof body === 'object' && body !== null && 'batch' in body;
        const list = batch ? body.batch : [body];
        return respond(reply, batch, await run(callerOf(request), request.params.name, list));
      });
    };
    route('encrypt', (caller, name, list) => operations.encrypt(caller, name, list.map((i) => ({ plaintext: b64(i.plaintext)!, ...(i.context ? { context: i.context } : {}) }))));
    route('decrypt', (caller, name, list) => operations.decrypt(caller, name, list.map((i) => ({ ciphertext: i.ciphertext, ...(i.context ? { context: i.context } : {}) }))));
    route('rewrap', (caller, name, list) => operations.rewrap(caller, name, list.map((i) => ({ ciphertext: i.ciphertext, ...(i.context ? { context: i.context } : {}) }))));
    route('datakey', (caller, name, list) =>
      operations.dataKey(caller, name, list.map((i) => ({ bits: i.bits, plaintext: i.plaintext, ...(i.context ? { context: i.context } : {}) }))),
    );
    const signInputOf = (i: { message?: string; digest?: string }) => ({ ...(i.message === undefined ? {} : { message: b64(i.message)! }), ...(i.digest === undefined ? {} : { digest: b64(i.digest)! }) });
    route('sign', (caller, name, list) => operations.sign(caller, name, list.map(signInputOf)));
    route('verify', (caller, name, list) => operations.verify(caller, name, list.map((i) => ({ ...signInputOf(i), signature: i.signature }))));
    route('hmac', (caller, name, list) => operations.hmac(caller, name, list.map((i) => ({ data: b64(i.data)! }))));
    route('hmac/verify', (caller, name, list) => operations.hmacVerify(caller, name, list.map((i) => ({ data: b64(i.data)!, hmac: i.hmac }))));
  };
}
