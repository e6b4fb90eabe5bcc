import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../context.js';
import { runCli } from '../program.js';

describe('warden screen --jsonl', () => {
  let dir: string;
  const out: string[] = [];
  const err: string[] = [];
  const ctx = (): CliContext => ({ io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, env: {}, prompt: () => Promise.resolve(undefined), cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-screen-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one result line per input line with UTF-16 offsets into the original text', async () => {
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const lines = [
      { id: 'clean', text: 'The build passed on all three platforms.', direction: 'output', extra: 'ignored' },
      { id: 'key', text: `🙂🙂 config:\n${key}`, direction: 'input' },
      { id: 'mail', text: 'Write to dana.whitfield@example.org today', direction: 'output' },
    ];
    await writeFile(join(dir, 'in.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    expect(await runCli(['screen', '--jsonl', 'in.jsonl', '--out', 'out.jsonl'], ctx())).toBe(0);
    const results = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; verdict: string; findings: { category: string; type: string; start: number; end: number }[] });
    expect(results.map((r) => r.id)).toEqual(['clean', 'key', 'mail']);
    expect(results[0]).toEqual({ id: 'clean', verdict: 'allow', findings: [] });
    expect(results[1]!.verdict).toBe('redact');
    const secret = results[1]!.findings.find((f) => f.category === 'secret')!;
    expect(lines[1]!.text.slice(secret.start, secret.end).trim()).toBe(key.trim());
    expect(results[2]!.findings).toEqual([expect.objectContaining({ category: 'pii', type: 'email', start: 9, end: 35 })]);
  });

  it('answers a bad line with an error line in its place and exits 2', async () => {
    out.length = 0;
    err.length = 0;
    await writeFile(join(dir, 'bad.jsonl'), ['{"id":"a","text":"fine","direction":"input"}', 'not json', '{"id":"b","text":"x","direction":"sideways"}'].join('\n'));
    expect(await runCli(['screen', '--jsonl', 'bad.jsonl'], ctx())).toBe(2);
    const results = out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(results).toEqual([
      { id: 'a', verdict: 'allow', findings: [] },
      { id: null, error: { code: 'WARDEN_VALIDATION_FAILED', message: 'line 2: not JSON' } },
      { id: 'b', error: expect.objectContaining({ code: 'WARDEN_VALIDATION_FAILED' }) as unknown },
    ]);
    expect(err.join('')).toMatch(/^warden: 2 of 3 lines could not be screened .*\(WARDEN_VALIDATION_FAILED\)\n$/);
  });

  it('refuses a missing input file with a one-line usage error', async () => {
    err.length = 0;
    expect(await runCli(['screen', '--jsonl', 'nope.jsonl'], ctx())).toBe(2);
    expect(err.join('')).toMatch(/^warden: cannot read nope.jsonl: .*\(WARDEN_USAGE\)\n$/);
  });
});
