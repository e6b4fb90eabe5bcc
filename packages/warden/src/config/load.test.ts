import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWardenError, type WardenError } from '../errors/index.js';
import { loadConfig, type LoadConfigOptions } from './load.js';

function dataDirWith(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
  writeFileSync(join(dir, 'warden.yaml'), yaml);
  return dir;
}

function failure(fn: () => unknown): WardenError {
  try {
    fn();
  } catch (err) {
    if (isWardenError(err)) return err;
    throw err;
  }
  throw new Error('expected a WardenError');
}

const load = (dir: string, options: Omit<LoadConfigOptions, 'flags'> & { flags?: LoadConfigOptions['flags'] } = {}) =>
  loadConfig({ ...options, flags: { dataDir: dir, ...options.flags } });

describe('loadConfig', () => {
  it('fills defaults and resolves paths against the data directory', () => {
    const dir = dataDirWith('{}\n');
    const config = load(dir);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8470 });
    expect(config.store).toEqual({ kind: 'sqlite', path: join(dir, 'warden.db') });
    expect(config.seal).toEqual({ kind: 'file', path: join(dir, 'seal.key') });
    expect(config.shutdown.timeout).toBe(10_000);
    expect(config.limits.bodyBytes).toBe(1024 * 1024);
    expect(config.dataDir).toBe(dir);
  });

  it('applies file < environment < flags', () => {
    const dir = dataDirWith('listen:\n  port: 9000\nlog:\n  level: warn\n');
    expect(load(dir).listen.port).toBe(9000);
    expect(load(dir, { env: { WARDEN_LISTEN_PORT: '9100' } }).listen.port).toBe(9100);
    const both = load(dir, { env: { WARDEN_LISTEN_PORT: '9100' }, flags: { listen: '0.0.0.0:9200', logLevel: 'debug' } });
    expect(both.listen).toEqual({ host: '0.0.0.0', port: 9200 });
    expect(both.log.level).toBe('debug');
  });

  it('selects PostgreSQL from WARDEN_POSTGRES_URL', () => {
    const dir = dataDirWith('store:\n  sqlite:\n    path: x.db\n');
    const config = load(dir, { env: { WARDEN_POSTGRES_URL: 'postgres://u@127.0.0.1/db' } });
    expect(config.store).toEqual({ kind: 'postgres', url: 'postgres://u@127.0.0.1/db', schema: 'public', poolSize: 10 });
  });

  it('names the path of an unknown key, at any depth', () => {
    expect(failure(() => load(dataDirWith('listen:\n  prot: 1\n'))).message).toContain('listen.prot');
    expect(failure(() => load(dataDirWith('bogus: true\n'))).message).toContain('unknown key bogus');
    const err = failure(() => load(dataDirWith('seal:\n  kind: file\n  passphrase: hunter2\n')));
    expect(err.code).toBe('WARDEN_CONFIG_INVALID');
    expect(err.message).toContain('seal.passphrase');
    expect(err.message).not.toContain('hunter2');
  });

  it('validates values', () => {
    const cases: [string, string][] = [
      ['listen:\n  port: 70000\n', 'listen.port'],
      ['listen:\n  port: -1\n', 'listen.port'],
      ['listen:\n  port: "80"\n', 'listen.port'],
      ['shutdown:\n  timeout: soon\n', 'shutdown.timeout'],
      ['seal:\n  kind: vault\n', 'seal.kind'],
      ['seal:\n  kind: pkcs11\n  library: relative.so\n  tokenLabel: t\n', 'seal.library'],
      ['store:\n  postgres:\n    url: mysql://x\n', 'store.postgres.url'],
      ['store:\n  sqlite: {}\n  postgres:\n    url: postgres://x\n', 'not both'],
      ['log:\n  level: loud\n', 'log.level'],
      ['audit:\n  sinks:\n    - { kind: file, name: a, path: x }\n    - { kind: file, name: a, path: y }\n', 'duplicate sink name'],
      ['audit:\n  sinks:\n    - { kind: http, name: h, url: ftp://x }\n', 'audit.sinks.0.url'],
      ['store:\n  postgres:\n    url: postgres://x\n    poolSize: 1\naudit:\n  retention: {}\n', 'store.postgres.poolSize'],
    ];
    for (const [yaml, expected] of cases) {
      const err = failure(() => load(dataDirWith(yaml)));
      expect(err.code, yaml).toBe('WARDEN_CONFIG_INVALID');
      expect(err.message, yaml).toContain(expected);
    }
    expect(failure(() => load(dataDirWith('{}'), { env: { WARDEN_LISTEN_PORT: 'eighty' } })).message).toContain('WARDEN_LISTEN_PORT');
    expect(failure(() => load(dataDirWith('{}'), { flags: { listen: 'nohostport' } })).message).toContain('--listen');
  });

  it('rejects YAML that is malformed, duplicated or not a mapping', () => {
    expect(failure(() => load(dataDirWith('listen: [\n'))).code).toBe('WARDEN_CONFIG_INVALID');
    expect(failure(() => load(dataDirWith('log:\n  level: info\nlog:\n  level: warn\n'))).code).toBe('WARDEN_CONFIG_INVALID');
    expect(failure(() => load(dataDirWith('- a\n- b\n'))).message).toContain('mapping');
  });

  it('tells a missing data directory from a missing explicit config file', () => {
    const empty = mkdtempSync(join(tmpdir(), 'warden-config-'));
    expect(failure(() => load(join(empty, 'none'))).code).toBe('WARDEN_NOT_INITIALIZED');
    expect(failure(() => load(empty, { flags: { config: join(empty, 'nope.yaml') } })).code).toBe('WARDEN_CONFIG_INVALID');
  });

  it('returns a deeply frozen config', () => {
    const config = load(dataDirWith('{}\n'));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
    expect(() => {
      (config.listen as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});
