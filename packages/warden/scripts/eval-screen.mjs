#!/usr/bin/env node
/**
 * Runs `warden screen` over the screening evaluation set and scores it:
 *
 *   node packages/warden/scripts/eval-screen.mjs [--eval-dir DIR] [--report FILE] [--json FILE] [--kinds injection,pii,secrets] [--warden FILE]
 *
 * For each of DIR/{injection,pii,secrets}-dev.jsonl (DIR defaults to `../shared/eval` beside the repo
 * root) it runs `node packages/warden/bin/warden.js screen --jsonl <file> --out <tmp>` (the built CLI:
 * `npm run build` first), scores the output with screen-scorer.mjs, prints the report (timings first,
 * the `SUMMARY ...` line last) and writes it to `--report FILE` if given (`--json FILE`: the scores as
 * JSON; `--warden FILE`: another script to run in place of bin/warden.js, e.g. a stub). Exits 0 when every run succeeded, 1 when `warden screen` failed, 2 on a usage error.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, scoreFiles } from './screen-scorer.mjs';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const KINDS = ['injection', 'pii', 'secrets'];
const USAGE = 'usage: node packages/warden/scripts/eval-screen.mjs [--eval-dir DIR] [--report FILE] [--json FILE] [--kinds injection,pii,secrets] [--warden FILE]';

function parseArgs(argv) {
  const options = {
    evalDir: resolve(repoRoot, '..', 'shared', 'eval'),
    report: undefined,
    json: undefined,
    kinds: KINDS,
    warden: fileURLToPath(new URL('../bin/warden.js', import.meta.url)),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${arg} needs a value`);
    if (arg === '--eval-dir') options.evalDir = resolve(value);
    else if (arg === '--report') options.report = resolve(value);
    else if (arg === '--json') options.json = resolve(value);
    else if (arg === '--warden') options.warden = resolve(value);
    else if (arg === '--kinds') {
      options.kinds = value.split(',').map((k) => k.trim());
      for (const kind of options.kinds) if (!KINDS.includes(kind)) throw new Error(`unknown kind: ${kind}`);
    } else throw new Error(`unknown argument: ${arg}`);
  }
  return options;
}

/** Runs `warden screen --jsonl gold --out out`; resolves with the wall time in ms, rejects with its stderr. */
function runScreen(warden, gold, out) {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [warden, 'screen', '--jsonl', gold, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise(Number(process.hrtime.bigint() - started) / 1e6);
      else reject(new Error(`warden screen --jsonl ${gold} exited with ${code ?? signal}:\n${stderr.trim()}`));
    });
  });
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`eval-screen: ${err.message}\n${USAGE}`);
    return 2;
  }
  const pairs = [];
  for (const kind of options.kinds) {
    const gold = join(options.evalDir, `${kind}-dev.jsonl`);
    if (!existsSync(gold)) {
      console.error(`eval-screen: ${gold} not found (use --eval-dir DIR)`);
      return 2;
    }
    pairs.push({ kind, gold });
  }

  const work = mkdtempSync(join(tmpdir(), 'warden-eval-screen-'));
  try {
    const timings = [];
    for (const pair of pairs) {
      pair.pred = join(work, `${pair.kind}-pred.jsonl`);
      let ms;
      try {
        ms = await runScreen(options.warden, pair.gold, pair.pred);
      } catch (err) {
        console.error(`eval-screen: ${err.message}`);
        return 1;
      }
      timings.push(`warden screen ${pair.kind}: ${(ms / 1000).toFixed(2)} s (process start included)`);
    }
    const results = scoreFiles(pairs);
    const report = `${timings.join('\n')}\n\n${formatReport(results)}\n`;
    process.stdout.write(report);
    if (options.report) writeFileSync(options.report, report);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
