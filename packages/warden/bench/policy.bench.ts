/**
 * Benchmark: authorization decisions, on the workload of `policy-workload.ts` (100 agents, 500 tools,
 * 50 or 1,000 policies, 90% repeated requests). Measures decisions/s and p50 through the authorizer
 * (entity provider + decision cache + in-memory audit fake); the uncached authorizer over 1,000 policies
 * (p99); the engine alone (`engine.evaluate`: scope index, preparsed subset, one Cedar call); and, in the
 * same run, baselines of raw `cedar.isAuthorized` (schema and policies parsed per call, as a caller
 * without preparsing would) and raw `cedar.statefulIsAuthorized` with the schema and the whole set
 * preparsed (policy by policy, as a caller would) on the same inputs. The same authorizer measurements
 * are also made over the compiled build in a plain node process (`policy-build.ts`), as the server runs
 * it, since vitest's module transform around the source slows the hot path. Each iteration makes up to
 * 1,000 sequential decisions; per-decision latencies and totals are printed at the end.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { afterAll, bench, describe } from 'vitest';
import * as api from '../src/policy/index.js';
import { policyWorkload, type Item } from './policy-workload.js';

const options = { time: 1500, warmupTime: 300 };
/** The slow paths run few, smaller iterations so the whole file stays under ~30 s. */
const slow = { time: 500, iterations: 3, warmupTime: 0, warmupIterations: 1 };
const once = { time: 0, iterations: 1, warmupTime: 0, warmupIterations: 0 };

const w = policyWorkload(api);
const staticPolicies50 = Object.fromEntries(w.set50.policies);
const RAW_SCHEMA = 'bench-raw-schema';
cedar.preparseSchema(RAW_SCHEMA, api.wardenSchema);
cedar.preparsePolicySet('bench-raw-50', { staticPolicies: staticPolicies50 });
cedar.preparsePolicySet('bench-raw-1000', { staticPolicies: Object.fromEntries(w.set1000.policies) });
const rawStateful = (name: string) => (it: Item) =>
  cedar.statefulIsAuthorized({ ...it.request, context: it.request.context as cedar.Context, preparsedSchemaName: RAW_SCHEMA, preparsedPolicySetId: name, validateRequest: true, entities: w.slice(it) as cedar.EntityJson[] });

const build: string[] = [];
/** Runs `policy-build.ts` over dist/ (built by `npm test` / `npm run build`) and keeps its summary. */
async function overBuild(): Promise<void> {
  const script = fileURLToPath(new URL('./policy-build.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '3'], { maxBuffer: 1 << 20 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { lines: string[]; evaluations: number; decisions: number };
  build.push(`build, cached: ${result.evaluations} evaluations for ${result.decisions} decisions (${((result.evaluations / result.decisions) * 100).toFixed(1)}% misses)`, ...result.lines);
}

describe('authorize (100 agents, 500 tools, 90% repeated requests)', () => {
  bench('warden: authorizer, 50 policies, cached', () => w.run('authorizer-50-cached', w.viaAuthorizer(w.cached)), options);
  bench('warden: authorizer, 1,000 policies, uncached (x200)', () => w.run('authorizer-1000-uncached', w.viaAuthorizer(w.uncached), 200), slow);
  bench('warden: engine.evaluate (no cache, no audit), 50 policies (x200)', () => w.run('engine-evaluate-50', (it) => w.engine.evaluate(w.set50, it.request, w.slice(it)), 200), slow);
  bench('warden build (dist/, plain node): authorizer cached 3 s, uncached 1 s', overBuild, once);
  bench('baseline: raw cedar.statefulIsAuthorized (whole set preparsed), 50 policies (x200)', () => w.run('raw-stateful-50', rawStateful('bench-raw-50'), 200), slow);
  bench('baseline: raw cedar.statefulIsAuthorized (whole set preparsed), 1,000 policies (x50)', () => w.run('raw-stateful-1000', rawStateful('bench-raw-1000'), 50), slow);
  bench('baseline: raw cedar.isAuthorized (parses schema + policies), 50 policies (x50)', () =>
    w.run('raw-isAuthorized-50', (it) => cedar.isAuthorized({ ...it.request, context: it.request.context as cedar.Context, schema: api.wardenSchema, policies: { staticPolicies: staticPolicies50 }, entities: w.slice(it) as cedar.EntityJson[] }), 50), slow);
});

afterAll(() => {
  const cachedTotal = w.totals['authorizer-50-cached']?.n ?? 0;
  const lines = [`cached authorizer: ${w.evaluations()} evaluations for ${cachedTotal} decisions (${((w.evaluations() / cachedTotal) * 100).toFixed(1)}% misses)`, ...w.summary(), ...build];
  process.stdout.write(`\npolicy decisions (time inside the bench functions):\n${lines.join('\n')}\n`);
});
