export { parseDuration } from './duration.js';
export {
  configFileName,
  defaultDataDir,
  loadConfig,
  parseConfig,
  resolveConfig,
  resolveDataDir,
  type ConfigFlags,
  type LoadConfigOptions,
} from './load.js';
export {
  configSchema,
  type AuditConfig,
  type IdentityConfig,
  type SinkConfig,
  type Config,
  type ConfigInput,
  type ParsedConfig,
  type PostgresStoreConfig,
  type SealConfig,
  type SqliteStoreConfig,
  type StoreConfig,
  type TlsConfig,
} from './schema.js';
