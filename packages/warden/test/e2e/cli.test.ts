import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWarden } from './process.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'warden-cli-')), 'data');

const oneLine = (text: string) => {
  const lines = text.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
};

describe('warden CLI', () => {
  it('prints help and version', async () => {
    const help = await runWarden(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['init', 'serve', 'status', 'version', 'operator']) expect(help.stdout).toContain(command);
    const version = await runWarden(['version', '--json']);
    expect(version.code).toBe(0);
    expect((JSON.parse(version.stdout) as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 with one line for unknown flags and commands', async () => {
    for (const args of [['serve', '--bogus'], ['frobnicate'], ['init', '--seal']]) {
      const run = await runWarden(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(oneLine(run.stderr)).toMatch(/^warden: /);
    }
  });

  it('initializes a data directory once, privately', async () => {
    const dataDir = fresh();
    const run = await runWarden(['init', '--data-dir', dataDir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ dataDir, seal: 'file', store: 'sqlite' });
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'seal.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'seal.key')).size).toBe(32);
    expect(existsSync(join(dataDir, 'warden.db'))).toBe(true);
    expect(readFileSync(join(dataDir, 'warden.yaml'), 'utf8')).toContain('kind: file');

    const key = readFileSync(join(dataDir, 'seal.key'));
    const again = await runWarden(['init', '--data-dir', dataDir]);
    expect(again.code).toBe(2);
    expect(oneLine(again.stderr)).toContain('WARDEN_DATA_DIR_EXISTS');
    expect(readFileSync(join(dataDir, 'seal.key')).equals(key)).toBe(true);
  });

  it('writes nothing when init is refused', async () => {
    const dataDir = fresh();
    const badSeal = await runWarden(['init', '--data-dir', dataDir, '--seal', 'vault']);
    expect(badSeal.code).toBe(2);
    expect(oneLine(badSeal.stderr)).toContain('WARDEN_USAGE');
    const noPassphrase = await runWarden(['init', '--data-dir', dataDir, '--seal', 'passphrase']);
    expect(noPassphrase.code).toBe(2);
    expect(oneLine(noPassphrase.stderr)).toContain('WARDEN_SEAL_SECRET_MISSING');
    const pkcs11 = await runWarden(['init', '--data-dir', dataDir, '--seal', 'pkcs11']);
    expect(pkcs11.code).toBe(2);
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(join(dataDir, '..'))).toBe(true);
  });

  it('reports an unreachable server with exit 1', async () => {
    const run = await runWarden(['status', '--url', 'http://127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toContain('WARDEN_SERVER_UNREACHABLE');
  });
});
