/**
 * Configuration loading: `warden.yaml` in the data directory, then `WARDEN_*` environment variables,
 * then CLI flags (each overriding the one before), validated once by the schema. Relative paths are
 * resolved against the data directory and the result is deep-frozen. Any problem is a
 * WARDEN_CONFIG_INVALID error whose message names the offending key path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { WardenError } from '../errors/index.js';
import { configSchema, type Config, type ParsedConfig } from './schema.js';

export const configFileName = 'warden.yaml';
export const defaultDataDir = '.warden';

/** Flags a command line may set; each overrides the environment and the file. */
export interface ConfigFlags {
  dataDir?: string | undefined;
  config?: string | undefined;
  /** `host:port` */
  listen?: string | undefined;
  logLevel?: string | undefined;
}

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

type Raw = Record<string, unknown>;

/** The data directory named by flag, `WARDEN_DATA_DIR`, or the default `./.warden`, as an absolute path. */
export function resolveDataDir(options: LoadConfigOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  return resolve(cwd, options.flags?.dataDir ?? options.env?.WARDEN_DATA_DIR ?? defaultDataDir);
}

/** Load, validate, resolve and freeze the configuration. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const dataDir = resolveDataDir(options);
  const explicitFile = options.flags?.config ?? env.WARDEN_CONFIG;
  const configFile = explicitFile ? resolve(cwd, explicitFile) : join(dataDir, configFileName);

  if (!existsSync(configFile)) {
    if (explicitFile) throw new WardenError('WARDEN_CONFIG_INVALID', `config file ${configFile} does not exist`);
    throw new WardenError(
      'WARDEN_NOT_INITIALIZED',
      `no Warden data directory at ${dataDir}: run \`warden init\` first`,
      { details: { dataDir } },
    );
  }
  const raw = readYaml(configFile);
  applyEnv(raw, env);
  applyFlags(raw, options.flags ?? {});
  return resolveConfig(parseConfig(raw), dataDir, configFile);
}

/** Validate a raw config object (as read from YAML) and fill in defaults. */
export function parseConfig(raw: unknown): ParsedConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw configError(result.error.issues);
  return result.data;
}

function readYaml(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new WardenError('WARDEN_CONFIG_INVALID', `cannot read config file ${file}`, { cause });
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new WardenError('WARDEN_CONFIG_INVALID', `${file} is not valid YAML: ${first.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WardenError('WARDEN_CONFIG_INVALID', `${file} must contain a mapping of settings`);
  }
  return value as Raw;
}

function section(raw: Raw, key: string): Raw {
  const existing = raw[key];
  if (typeof existing === 'object' && existing !== null && !Array.isArray(existing)) return existing as Raw;
  const created: Raw = {};
  raw[key] = created;
  return created;
}

function applyEnv(raw: Raw, env: Readonly<Record<string, string | undefined>>): void {
  if (env.WARDEN_LISTEN_HOST) section(raw, 'listen').host = env.WARDEN_LISTEN_HOST;
  if (env.WARDEN_LISTEN_PORT) section(raw, 'listen').port = toNumber(env.WARDEN_LISTEN_PORT, 'WARDEN_LISTEN_PORT');
  if (env.WARDEN_LOG_LEVEL) section(raw, 'log').level = env.WARDEN_LOG_LEVEL;
  if (env.WARDEN_POSTGRES_URL) {
    const store = section(raw, 'store');
    const postgres = section(store, 'postgres');
    postgres.url = env.WARDEN_POSTGRES_URL;
    delete store.sqlite;
  }
}

function applyFlags(raw: Raw, flags: ConfigFlags): void {
  if (flags.listen) {
    const match = /^(.+):(\d+)$/.exec(flags.listen);
    if (!match) throw new WardenError('WARDEN_CONFIG_INVALID', `--listen must be host:port, got "${flags.listen}"`);
    const listen = section(raw, 'listen');
    listen.host = match[1]!.replace(/^\[(.*)\]$/, '$1');
    listen.port = toNumber(match[2]!, '--listen');
  }
  if (flags.logLevel) section(raw, 'log').level = flags.logLevel;
}

function toNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new WardenError('WARDEN_CONFIG_INVALID', `${name} must be a number, got "${text}"`);
  return Number(text);
}

/** Turn zod issues into one error whose message names the first offending key path. */
function configError(issues: readonly z.core.$ZodIssue[]): WardenError {
  const described = issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key));
      return { path: keys[0]!, message: `unknown key ${keys.join(', ')}` };
    }
    return { path: path || '(root)', message: `${path || '(root)'}: ${issue.message}` };
  });
  const first = described[0]!;
  return new WardenError('WARDEN_CONFIG_INVALID', `invalid configuration: ${first.message}`, {
    details: { issues: described },
  });
}

/** Resolve relative paths against the data directory and deep-freeze the result. */
export function resolveConfig(parsed: ParsedConfig, dataDir: string, configFile: string): Config {
  const at = (path: string) => (isAbsolute(path) ? path : join(dataDir, path));
  const store = parsed.store.kind === 'sqlite' ? { ...parsed.store, path: at(parsed.store.path) } : parsed.store;
  const seal = { ...parsed.seal, path: at(parsed.seal.path) };
  const tls = parsed.listen.tls;
  const listen = tls
    ? {
        ...parsed.listen,
        tls: { ...tls, cert: at(tls.cert), key: at(tls.key), ...(tls.clientCa ? { clientCa: at(tls.clientCa) } : {}) },
      }
    : parsed.listen;
  const sinks = parsed.audit.sinks.map((sink) => {
    if (sink.kind === 'file') return { ...sink, path: at(sink.path) };
    if (sink.kind === 'syslog' && sink.tls?.ca) return { ...sink, tls: { ...sink.tls, ca: at(sink.tls.ca) } };
    if (sink.kind === 'http' && sink.ca) return { ...sink, ca: at(sink.ca) };
    return sink;
  });
  const retention = parsed.audit.retention && { ...parsed.audit.retention, archiveDir: at(parsed.audit.retention.archiveDir) };
  const audit = { ...parsed.audit, sinks, ...(retention ? { retention } : {}) };
  return deepFreeze({ ...parsed, listen, store, seal, audit, dataDir, configFile });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
