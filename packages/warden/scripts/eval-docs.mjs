#!/usr/bin/env node
/**
 * False alarms of the injection detector on clean technical text, the tool output a coding agent reads
 * most: the README, CHANGELOG, HISTORY and docs/*.md files and the lib/*.js sources of the installed
 * npm packages (node_modules after `npm ci`), cut into 3,000-character chunks like tool results. Every
 * chunk is benign (these are the project's own dependencies), so every prompt-injection finding is a
 * false positive.
 *
 *   node packages/warden/scripts/eval-docs.mjs [--list]     (build first: it runs bin/warden.js screen)
 *
 * Prints the rate per kind of file and, with --list, each flagged chunk. Exits 0 when `warden screen`
 * ran, 1 when it failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const modules = join(repoRoot, 'node_modules');
const warden = fileURLToPath(new URL('../bin/warden.js', import.meta.url));
const CHUNK = 3000;
/** At most this much of one file (long changelogs would dominate). */
const PER_FILE = 40_000;

const KINDS = {
  readme: (path) => /\/readme\.md$/i.test(path),
  docs: (path) => /\/(?:changelog|history)\.md$/i.test(path) || /\/docs\/.*\.md$/i.test(path),
  code: (path) => /\/lib\/[^/]+\.js$/.test(path),
};

/** Files under node_modules, depth-first in name order (deterministic), at most 6 levels deep. */
function walk(dir, depth, out) {
  if (depth > 6) return out;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) walk(path, depth + 1, out);
    else if (stat?.isFile() && stat.size >= 2048) out.push(path);
  }
  return out;
}

const list = process.argv.includes('--list');
const files = walk(modules, 0, []);
const lines = [];
for (const path of files) {
  const kind = Object.keys(KINDS).find((k) => KINDS[k](path));
  if (kind === undefined) continue;
  const text = readFileSync(path, 'utf8').slice(0, PER_FILE);
  for (let i = 0; i < text.length; i += CHUNK) {
    lines.push({ id: `${kind}:${relative(modules, path)}:${i}`, text: text.slice(i, i + CHUNK), direction: 'output' });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'warden-eval-docs-'));
try {
  const input = join(dir, 'in.jsonl');
  const output = join(dir, 'out.jsonl');
  writeFileSync(input, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const run = spawnSync(process.execPath, [warden, 'screen', '--jsonl', input, '--out', output], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (run.status !== 0) {
    process.stderr.write(`warden screen failed: ${run.stderr.toString()}\n`);
    process.exit(1);
  }
  const counts = {};
  for (const line of readFileSync(output, 'utf8').trim().split('\n')) {
    const result = JSON.parse(line);
    const kind = result.id.split(':')[0];
    const c = (counts[kind] ??= { chunks: 0, flagged: 0 });
    c.chunks++;
    const finding = result.findings.find((f) => f.category === 'prompt_injection');
    if (finding) {
      c.flagged++;
      if (list) process.stdout.write(`${result.id} ${finding.type} ${finding.score}\n`);
    }
  }
  for (const [kind, c] of Object.entries(counts)) {
    process.stdout.write(`${kind.padEnd(7)} ${String(c.flagged).padStart(4)} / ${String(c.chunks).padEnd(5)} chunks flagged  FPR ${(c.flagged / c.chunks).toFixed(4)}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
