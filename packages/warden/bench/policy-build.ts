/**
 * The authorization workload (`policy-workload.ts`) over the compiled build (`dist/`) in a plain node
 * process, as `warden serve` runs it: no test runner, no source transform around the modules under test.
 * Started by `policy.bench.ts` (`node --import tsx bench/policy-build.ts SECONDS`); prints one JSON line
 * `{lines, evaluations, decisions}` with the summary of each measurement.
 */
import * as api from '../dist/policy/index.js';
import { PER_ITERATION, policyWorkload } from './policy-workload.js';

const seconds = Number(process.argv[2] ?? 3);
const w = policyWorkload(api);
const timed = async (name: string, decide: Parameters<typeof w.run>[1], count: number, ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) await w.run(name, decide, count);
};
// Warm-up, not recorded: JIT and the decision cache's first fill.
await timed('warmup', w.viaAuthorizer(w.cached), PER_ITERATION, 500);
const before = w.evaluations();
await timed('build-authorizer-50-cached', w.viaAuthorizer(w.cached), PER_ITERATION, seconds * 1000);
const evaluations = w.evaluations() - before;
await timed('build-authorizer-1000-uncached', w.viaAuthorizer(w.uncached), 200, (seconds * 1000) / 3);
const lines = w.summary().filter((line) => !line.startsWith('warmup'));
process.stdout.write(`${JSON.stringify({ lines, evaluations, decisions: w.totals['build-authorizer-50-cached']?.n ?? 0 })}\n`);
