/**
 * The one catalog of Warden's error codes. Each code has a stable string, the HTTP status it maps to,
 * a short safe title, and the CLI exit code (2 for bad input, 1 for everything else). The HTTP layer
 * and the CLI look codes up here; nothing maps errors by `instanceof` chains. docs/errors.md lists
 * every code (a test enforces it).
 */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
  readonly exitCode: 1 | 2;
}

export const errorCatalog = {
  // Input and configuration
  WARDEN_CONFIG_INVALID: { status: 500, title: 'Configuration is invalid', exitCode: 2 },
  WARDEN_USAGE: { status: 400, title: 'Invalid command usage', exitCode: 2 },
  WARDEN_NOT_INITIALIZED: { status: 500, title: 'Data directory is not initialized', exitCode: 2 },
  WARDEN_DATA_DIR_EXISTS: { status: 409, title: 'Data directory already exists', exitCode: 2 },

  // HTTP boundary
  WARDEN_ROUTE_NOT_FOUND: { status: 404, title: 'Route not found', exitCode: 2 },
  WARDEN_NOT_FOUND: { status: 404, title: 'Resource not found', exitCode: 2 },
  WARDEN_MALFORMED_JSON: { status: 400, title: 'Request body is not valid JSON', exitCode: 2 },
  WARDEN_VALIDATION_FAILED: { status: 400, title: 'Request failed validation', exitCode: 2 },
  WARDEN_PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body is too large', exitCode: 2 },
  WARDEN_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type', exitCode: 2 },
  WARDEN_INTERNAL: { status: 500, title: 'Internal error', exitCode: 1 },

  // Seal and barrier
  WARDEN_SEAL_FILE_PERMISSIONS: { status: 500, title: 'Seal file is readable by other users', exitCode: 2 },
  WARDEN_SEAL_UNSEAL_FAILED: { status: 500, title: 'Unseal failed', exitCode: 2 },
  WARDEN_SEAL_SECRET_MISSING: { status: 500, title: 'Seal passphrase or PIN is missing', exitCode: 2 },
  WARDEN_SEAL_EXISTS: { status: 409, title: 'Seal material already exists', exitCode: 2 },
  WARDEN_SEAL_HSM_UNAVAILABLE: { status: 503, title: 'HSM is unavailable', exitCode: 1 },
  WARDEN_SEALED: { status: 503, title: 'Warden is sealed', exitCode: 1 },
  WARDEN_BARRIER_DECRYPT_FAILED: { status: 500, title: 'Decryption failed', exitCode: 1 },

  // Store
  WARDEN_STORE_UNAVAILABLE: { status: 503, title: 'Store is unavailable', exitCode: 1 },
  WARDEN_STORE_MIGRATION_FAILED: { status: 500, title: 'Store migration failed', exitCode: 1 },
  WARDEN_STORE_CONFLICT: { status: 409, title: 'Conflicting write', exitCode: 1 },

  // Audit log
  WARDEN_AUDIT_UNAVAILABLE: { status: 503, title: 'Audit log is unavailable', exitCode: 1 },
  WARDEN_AUDIT_VERIFY_FAILED: { status: 500, title: 'Audit log verification failed', exitCode: 1 },
  WARDEN_AUDIT_BUNDLE_INVALID: { status: 400, title: 'Audit bundle is malformed', exitCode: 2 },
  WARDEN_FORBIDDEN: { status: 403, title: 'Forbidden', exitCode: 1 },

  // Identity
  WARDEN_UNAUTHENTICATED: { status: 401, title: 'Authentication required', exitCode: 1 },
  WARDEN_LOGIN_FAILED: { status: 401, title: 'Login failed', exitCode: 1 },
  WARDEN_LOGIN_THROTTLED: { status: 429, title: 'Too many failed logins', exitCode: 1 },
  WARDEN_CONFLICT: { status: 409, title: 'Conflict with the current state', exitCode: 2 },

  // Policy
  WARDEN_POLICY_INVALID: { status: 400, title: 'Policy set is invalid', exitCode: 2 },
  WARDEN_POLICY_TEST_FAILED: { status: 422, title: 'Policy test cases failed', exitCode: 1 },

  // Key management
  WARDEN_KMS_DECRYPT_FAILED: { status: 400, title: 'Decryption failed', exitCode: 2 },
  WARDEN_KMS_KEY_DISABLED: { status: 409, title: 'Key is disabled', exitCode: 1 },
  WARDEN_KMS_KEY_PENDING_DESTRUCTION: { status: 409, title: 'Key is scheduled for destruction', exitCode: 1 },
  WARDEN_KMS_KEY_DESTROYED: { status: 410, title: 'Key has been destroyed', exitCode: 1 },
  WARDEN_KMS_VERSION_DISABLED: { status: 409, title: 'Key version is disabled', exitCode: 1 },
  WARDEN_KMS_UNSUPPORTED_OPERATION: { status: 400, title: 'Operation not supported by this key', exitCode: 2 },
  WARDEN_KMS_IMPORT_INVALID: { status: 400, title: 'Imported key material is invalid', exitCode: 2 },
  WARDEN_KMS_HSM_UNAVAILABLE: { status: 503, title: 'HSM is unavailable for this key', exitCode: 1 },
  WARDEN_KMS_SIGNATURE_INVALID: { status: 400, title: 'Signature or MAC does not verify', exitCode: 1 },

  // MCP gateway
  WARDEN_TOOL_NOT_FOUND: { status: 404, title: 'Unknown tool', exitCode: 2 },
  WARDEN_PROMPT_NOT_FOUND: { status: 404, title: 'Unknown prompt', exitCode: 2 },
  WARDEN_RESOURCE_NOT_FOUND: { status: 404, title: 'Unknown resource', exitCode: 2 },
  WARDEN_RATE_LIMITED: { status: 429, title: 'Rate limit exceeded', exitCode: 1 },
  WARDEN_UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream is unavailable', exitCode: 1 },
  WARDEN_UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream did not answer in time', exitCode: 1 },
  WARDEN_UPSTREAM_ERROR: { status: 502, title: 'Upstream returned an error', exitCode: 1 },
  WARDEN_UPSTREAM_INVALID: { status: 502, title: 'Upstream sent a malformed answer', exitCode: 1 },
  WARDEN_APPROVAL_PENDING: { status: 409, title: 'Call waits for approval', exitCode: 1 },
  WARDEN_APPROVAL_DENIED: { status: 403, title: 'Call was denied by an admin', exitCode: 1 },

  // Content screening
  WARDEN_SCREEN_BLOCKED: { status: 403, title: 'Content was blocked by screening', exitCode: 1 },
  WARDEN_SCREEN_TOO_LARGE: { status: 413, title: 'Content is too large to screen', exitCode: 2 },

  // CLI talking to a server
  WARDEN_SERVER_UNREACHABLE: { status: 503, title: 'Warden server is unreachable', exitCode: 1 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalog;

export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];
