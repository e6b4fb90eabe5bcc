/**
 * The configuration schema: one zod schema for `warden.yaml`, `WARDEN_*` environment variables and CLI
 * flags. Every object is strict, so an unknown key is an error naming its path. Secrets (passphrases,
 * PINs) never live here: the config names the environment variable that holds them.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseDuration } from './duration.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (e.g. 500ms, 30s, 5m, 1h, 90d)` });
        return z.NEVER;
      }
      return ms;
    });

/** A TCP port; 0 asks the OS for a free one. */
const port = z.number().int().min(0).max(65535);
/** A file path; relative paths are resolved against the data directory. */
const path = z.string().min(1).max(4096);
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name');

export const tlsSchema = z.strictObject({
  cert: path,
  key: path,
  /** CA bundle used to verify client certificates (mTLS). */
  clientCa: path.optional(),
  /** With clientCa: `require` refuses a connection without a valid client certificate; `request` asks for one. */
  clientCert: z.enum(['request', 'require']).default('require'),
});

export const listenSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8470),
  tls: tlsSchema.optional(),
});

export const sqliteSchema = z.strictObject({ path: path.default('warden.db') });

export const postgresSchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must be a postgres:// or postgresql:// URL'),
  /** The schema Warden's tables live in. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('public'),
  poolSize: z.number().int().min(1).max(200).default(10),
});

export const storeSchema = z
  .strictObject({ sqlite: sqliteSchema.optional(), postgres: postgresSchema.optional() })
  .prefault({})
  .superRefine((store, ctx) => {
    if (store.sqlite && store.postgres) {
      ctx.addIssue({ code: 'custom', message: 'choose one of sqlite or postgres, not both' });
    }
  })
  .transform((store) =>
    store.postgres
      ? ({ kind: 'postgres', ...store.postgres } as const)
      : ({ kind: 'sqlite', ...(store.sqlite ?? sqliteSchema.parse({})) } as const),
  );

export const sealSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('file'), path: path.default('seal.key') }),
    z.strictObject({
      kind: z.literal('passphrase'),
      path: path.default('seal.json'),
      passphraseEnv: envName.default('WARDEN_SEAL_PASSPHRASE'),
    }),
    z.strictObject({
      kind: z.literal('pkcs11'),
      path: path.default('seal.json'),
      library: path.refine(isAbsolute, 'must be an absolute path to the PKCS#11 library'),
      tokenLabel: z.string().min(1).max(32),
      keyLabel: z.string().min(1).max(128).default('warden-root'),
      pinEnv: envName.default('WARDEN_PKCS11_PIN'),
    }),
  ])
  .prefault({ kind: 'file' });

const sinkName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a lower-case name (a-z, 0-9, -)');

export const sinkSchema = z.discriminatedUnion('kind', [
  /** JSON lines, one OCSF event per line, rotated by size. */
  z.strictObject({
    kind: z.literal('file'),
    name: sinkName,
    path,
    maxBytes: z.number().int().min(4096).default(100 * 1024 * 1024),
    maxFiles: z.number().int().min(1).max(1000).default(10),
  }),
  /** Syslog RFC 5424 over TCP (octet-counting framing, RFC 6587) or TLS (RFC 5425). */
  z.strictObject({
    kind: z.literal('syslog'),
    name: sinkName,
    host: z.string().min(1),
    port: port.refine((p) => p > 0, 'must be 1-65535'),
    tls: z.strictObject({ ca: path.optional(), serverName: z.string().optional() }).optional(),
    appName: z.string().regex(/^[!-~]{1,48}$/).default('warden'),
  }),
  /** HTTP POST batches: a generic JSON webhook (`ocsf`) or the Splunk HTTP Event Collector format. */
  z.strictObject({
    kind: z.literal('http'),
    name: sinkName,
    url: z.url({ protocol: /^https?$/ }),
    format: z.enum(['ocsf', 'splunk-hec']).default('ocsf'),
    /** Environment variable holding the bearer / Splunk token (never the token itself). */
    tokenEnv: envName.optional(),
    ca: path.optional(),
    batchSize: z.number().int().min(1).max(10_000).default(500),
    timeout: duration('10s'),
  }),
]);

export const auditSchema = z.strictObject({
  /** How often a new checkpoint may be signed when the log has grown. */
  checkpointInterval: duration('1s'),
  /** Most entries committed in one group commit. */
  maxBatch: z.number().int().min(1).max(100_000).default(5000),
  sinks: z
    .array(sinkSchema)
    .default([])
    .superRefine((sinks, ctx) => {
      const seen = new Set<string>();
      for (const sink of sinks) {
        if (seen.has(sink.name)) ctx.addIssue({ code: 'custom', message: `duplicate sink name "${sink.name}"` });
        seen.add(sink.name);
      }
    }),
  /** How often sinks poll the log for new entries. */
  sinkPollInterval: duration('1s'),
  /**
   * Retention: entry bodies older than `horizon` are moved to verified export bundles in `archiveDir`
   * and deleted from the store; their hashes stay, so the tree, checkpoints and proofs remain valid.
   * Off when absent.
   */
  retention: z
    .strictObject({
      horizon: duration('90d'),
      archiveDir: path.default('audit-archive'),
      interval: duration('1h'),
    })
    .optional(),
});

export const identitySchema = z.strictObject({
  /** The issuer URL in tokens and metadata (default: the listen address, http or https). */
  issuer: z.url({ protocol: /^https?$/ }).optional(),
  /** Access-token lifetime (RFC 9068 JWTs). */
  tokenTtl: duration('5m').refine((ms) => ms >= 10_000 && ms <= 3_600_000, 'must be between 10s and 1h'),
  /** Admin session lifetime. */
  adminSessionTtl: duration('1h').refine((ms) => ms >= 60_000 && ms <= 86_400_000, 'must be between 1m and 24h'),
  /** Extra resource URIs (RFC 8707) tokens may be issued for, besides Warden's own `/mcp` and `/v1/keys`. */
  resources: z.array(z.url()).default([]),
});

const bucket = (rate: number, burst: number) =>
  z
    .strictObject({ rate: z.number().positive().max(1_000_000).default(rate), burst: z.number().int().min(1).max(1_000_000).default(burst) })
    .prefault({});

export const gatewaySchema = z.strictObject({
  /** Token buckets of the MCP gateway's limit stage (tokens per second, bucket size). */
  rateLimits: z.strictObject({ perAgent: bucket(50, 100), perAgentTool: bucket(20, 40) }).prefault({}),
  /** How long a call that needs approval is held waiting for an admin. */
  approvalWait: duration('30s').refine((ms) => ms >= 0 && ms <= 600_000, 'must be at most 10m'),
  /** How long an approval can be used after the call was first held. */
  approvalTtl: duration('10m').refine((ms) => ms >= 1000 && ms <= 86_400_000, 'must be between 1s and 24h'),
});

export const screenActions = ['allow', 'redact', 'tokenize', 'mark', 'block', 'approve'] as const;
const action = (fallback: (typeof screenActions)[number]) => z.enum(screenActions).default(fallback);
const directionActions = (injection: (typeof screenActions)[number], secret: (typeof screenActions)[number], pii: (typeof screenActions)[number]) =>
  z.strictObject({ prompt_injection: action(injection), secret: action(secret), pii: action(pii) }).prefault({});

export const screenSchema = z.strictObject({
  /** Screen MCP traffic in the gateway (both directions). Off only to measure what screening costs. */
  gateway: z.boolean().default(true),
  /** Texts larger than this (UTF-8 bytes) are refused with WARDEN_SCREEN_TOO_LARGE, never passed unscreened. */
  maxBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** What to do with a finding, per direction (`input`: tool arguments; `output`: tool results) and category. */
  actions: z
    .strictObject({ input: directionActions('block', 'redact', 'allow'), output: directionActions('block', 'redact', 'allow') })
    .prefault({}),
  /** The KMS key (type hmac-sha256) that makes `tokenize` tokens; tokenizing is refused without one. */
  tokenizationKey: z.string().min(1).max(128).optional(),
  /** Per-tool output filters (data minimization): keep only, or drop, these top-level fields of JSON results. */
  outputFilters: z.record(z.string().min(1).max(128), z.strictObject({ keep: z.array(z.string().min(1).max(256)).optional(), drop: z.array(z.string().min(1).max(256)).optional() })).default({}),
});

export const configSchema = z.strictObject({
  listen: listenSchema.prefault({}),
  store: storeSchema,
  seal: sealSchema,
  limits: z
    .strictObject({ bodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024) })
    .prefault({}),
  shutdown: z.strictObject({ timeout: duration('10s') }).prefault({}),
  audit: auditSchema.prefault({}),
  identity: identitySchema.prefault({}),
  gateway: gatewaySchema.prefault({}),
  screen: screenSchema.prefault({}),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .prefault({}),
}).superRefine((config, ctx) => {
  for (const direction of ['input', 'output'] as const) {
    for (const [category, action] of Object.entries(config.screen.actions[direction])) {
      if (action === 'tokenize' && !config.screen.tokenizationKey) ctx.addIssue({ code: 'custom', path: ['screen', 'actions', direction, category], message: 'tokenize needs screen.tokenizationKey (a KMS hmac-sha256 key)' });
    }
  }
  // Retention holds one pooled connection for its lock while it appends and reads through others.
  if (config.audit.retention && config.store.kind === 'postgres' && config.store.poolSize < 2) {
    ctx.addIssue({ code: 'custom', path: ['store', 'postgres', 'poolSize'], message: 'must be at least 2 when audit.retention is on' });
  }
});

/** What a user writes (warden.yaml, before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** The parsed configuration with defaults filled in (before paths are resolved). */
export type ParsedConfig = z.output<typeof configSchema>;
export type StoreConfig = ParsedConfig['store'];
export type SqliteStoreConfig = Extract<StoreConfig, { kind: 'sqlite' }>;
export type PostgresStoreConfig = Extract<StoreConfig, { kind: 'postgres' }>;
export type SealConfig = ParsedConfig['seal'];
export type TlsConfig = z.output<typeof tlsSchema>;
export type AuditConfig = ParsedConfig['audit'];
export type IdentityConfig = ParsedConfig['identity'];
export type SinkConfig = AuditConfig['sinks'][number];

/** The configuration passed down: parsed, paths resolved against the data directory, deep-frozen. */
export type Config = Readonly<ParsedConfig & { dataDir: string; configFile: string }>;
