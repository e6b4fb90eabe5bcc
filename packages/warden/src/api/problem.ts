/**
 * RFC 9457 problem details: turning any error into a safe `application/problem+json` body. Warden's
 * own errors keep their code and message; fastify's boundary errors are mapped by a code table; anything
 * else becomes WARDEN_INTERNAL with a generic message (the real error goes to the log only).
 */
import { errorCatalog, type ErrorCode, WardenError } from '../errors/index.js';

export const problemContentType = 'application/problem+json; charset=utf-8';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  errors?: unknown[];
}

/** fastify's stable error codes for bad requests, mapped to Warden's. */
const fastifyCodes: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'WARDEN_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'WARDEN_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'WARDEN_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'WARDEN_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'WARDEN_MALFORMED_JSON',
  FST_ERR_VALIDATION: 'WARDEN_VALIDATION_FAILED',
  FST_ERR_NOT_FOUND: 'WARDEN_ROUTE_NOT_FOUND',
};

const fastifyMessages: Readonly<Partial<Record<ErrorCode, string>>> = {
  WARDEN_PAYLOAD_TOO_LARGE: 'the request body exceeds the configured limit',
  WARDEN_UNSUPPORTED_MEDIA_TYPE: 'the request content type is not supported',
  WARDEN_MALFORMED_JSON: 'the request body is not valid JSON',
  WARDEN_VALIDATION_FAILED: 'the request does not match the expected schema',
  WARDEN_ROUTE_NOT_FOUND: 'no such route',
};

interface ValidationIssue {
  instancePath?: string;
  message?: string;
}

/** Build the problem body for an error; `internal` is true when it must be logged as a server fault. */
export function toProblem(err: unknown, requestId: string): { problem: Problem; internal: boolean } {
  if (err instanceof WardenError) {
    return { problem: build(err.code, err.message, requestId, err.details), internal: err.status >= 500 };
  }
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const mapped = typeof code === 'string' ? fastifyCodes[code] : undefined;
  if (mapped) {
    const validation = (err as { validation?: ValidationIssue[] }).validation;
    const errors = validation?.map((issue) => ({ path: issue.instancePath ?? '', message: issue.message ?? '' }));
    return {
      problem: build(mapped, fastifyMessages[mapped] ?? errorCatalog[mapped].title, requestId, errors ? { errors } : undefined),
      internal: false,
    };
  }
  return { problem: build('WARDEN_INTERNAL', 'an internal error occurred', requestId), internal: true };
}

function build(code: ErrorCode, detail: string, requestId: string, details?: Readonly<Record<string, unknown>>): Problem {
  const spec = errorCatalog[code];
  const problem: Problem = {
    type: `urn:warden:error:${code}`,
    title: spec.title,
    status: spec.status,
    detail,
    code,
    requestId,
  };
  const errors = details?.errors;
  if (Array.isArray(errors)) problem.errors = errors;
  return problem;
}
