/**
 * Benchmark: authorization decisions. 100 agents (10 roles), 500 tools on 20 servers, 50 generated
 * policies; a request stream where 90% of requests repeat a hot set of 100 and 10% are fresh. Measures
 * decisions/s and p50 through the authorizer (entity provider + decision cache + in-memory audit fake);
 * the uncached authorizer over 1,000 policies (p99); the engine alone (`engine.evaluate`: scope index,
 * preparsed subset, one Cedar call); and, in the same run, baselines of raw `cedar.isAuthorized` (schema
 * and policies parsed per call, as a caller without preparsing would) and raw `cedar.statefulIsAuthorized`
 * with the schema and the whole set preparsed (policy by policy, as a caller would) on the same inputs.
 * Each iteration makes up to 1,000 sequential decisions; per-decision latencies and totals are printed at
 * the end.
 */
import { performance } from 'node:perf_hooks';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { afterAll, bench, describe } from 'vitest';
import type { Agent, AgentLookup } from '../src/identity/types.js';
import { agentEntity, agentEntityProvider, createAuthorizer, createPolicyEngine, wardenSchema, type Authorizer, type AuthorizationRequest, type CedarEntity } from '../src/policy/index.js';

const options = { time: 1500, warmupTime: 300 };
/** The slow paths run few, smaller iterations so the whole file stays under ~30 s. */
const slow = { time: 500, iterations: 3, warmupTime: 0, warmupIterations: 1 };
const PER_ITERATION = 1000;
const ROLES = 10;
const SERVERS = 20;

const agents: Agent[] = Array.from({ length: 100 }, (_, i) => ({
  name: `agent-${i}`, owner: `owner-${i % 7}`, roles: [`role-${i % ROLES}`], labels: { team: `team-${i % 5}` },
  environment: 'prod', region: i % 2 ? 'eu' : 'us', clearance: i % 5, status: 'active', requireDpop: false, createdAt: 0, updatedAt: 1,
}));
const byName = new Map(agents.map((a) => [a.name, a]));
const lookup: AgentLookup = { get: (n) => Promise.resolve(byName.get(n)), onChange: () => () => undefined };
const tools: CedarEntity[] = Array.from({ length: 500 }, (_, i) => ({
  uid: { type: 'Warden::Tool', id: `tool-${i}` },
  attrs: { name: `tool-${i}`, readOnly: i % 3 !== 0, destructive: i % 17 === 0, sensitivity: i % 5 },
  parents: [{ type: 'Warden::Server', id: `server-${i % SERVERS}` }],
}));
const servers = new Map(Array.from({ length: SERVERS }, (_, i): [string, CedarEntity] => [`server-${i}`, { uid: { type: 'Warden::Server', id: `server-${i}` }, attrs: { name: `server-${i}` }, parents: [] }]));

function policies(count: number): string {
  const out: string[] = ['@id("no-destructive")\nforbid(principal, action, resource is Warden::Tool) when { resource.destructive };',
    '@id("risk")\nforbid(principal, action, resource) when { context.riskScore > 80 || context.findings.highestScore > 90 };'];
  for (let i = out.length; i < count; i++) {
    out.push(`@id("p${i}")\npermit(principal in Warden::Role::"role-${i % ROLES}", action == Warden::Action::"mcp:call_tool", resource in Warden::Server::"server-${i % SERVERS}")
  when { resource.sensitivity <= principal.clearance && principal.hasTag("team") && principal.getTag("team") != "team-${i % 7}" && context.hour >= ${i % 8} };`);
  }
  return out.join('\n');
}

const contextFor = (hour: number) => ({ hour, weekday: 2, sourceIp: '10.0.0.1', riskScore: 0, findings: { categories: [], highestScore: 0 } });
interface Item { request: AuthorizationRequest; tool: CedarEntity }
function item(a: number, t: number, hour: number): Item {
  const tool = tools[t]!;
  return {
    request: { principal: { type: 'Warden::Agent', id: `agent-${a}` }, action: { type: 'Warden::Action', id: 'mcp:call_tool' }, resource: tool.uid, context: contextFor(hour) },
    tool,
  };
}
/** 90% from a hot set of 100 requests, 10% fresh (agent x tool x hour: 1.2M combinations). */
let seed = 42;
/** mulberry32: deterministic, well distributed. */
function rand(n: number): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (((t ^ (t >>> 14)) >>> 0) % n);
}
const hot = Array.from({ length: 100 }, () => item(rand(100), rand(500), 12));
const stream: Item[] = Array.from({ length: 100_000 }, () => (rand(10) < 9 ? hot[rand(100)]! : item(rand(100), rand(500), rand(24))));

const engine = createPolicyEngine();
const set50 = engine.compile(1, [{ name: 'bench.cedar', text: policies(50) }]);
const set1000 = engine.compile(2, [{ name: 'bench.cedar', text: policies(1000) }]);
const audited: unknown[] = [];
const audit = { append: (e: unknown) => { audited.push(e); if (audited.length > 10_000) audited.length = 0; return Promise.resolve(); } };
/** As the server composes it (`server/policy.ts`): resolved agents are kept for 1 s. */
const providers = [agentEntityProvider(lookup, { cacheTtlMs: 1000 })];
let evaluations = 0;
const counting = { ...engine, evaluate: (...args: Parameters<typeof engine.evaluate>) => (evaluations++, engine.evaluate(...args)) };
const cached = createAuthorizer({ engine: counting, active: () => set50, providers, audit, cacheSize: 10_000 });
const uncached = createAuthorizer({ engine, active: () => set1000, providers, audit, cacheSize: 0 });

const latencies: Record<string, number[]> = {};
const totals: Record<string, { n: number; ms: number }> = {};
let cursor = 0;
function next(): Item {
  cursor = (cursor + 1) % stream.length;
  return stream[cursor]!;
}
const slice = (it: Item): CedarEntity[] => {
  const a = agentEntity(byName.get(it.request.principal.id)!);
  const parents = a.parents.map((uid): CedarEntity => ({ uid, attrs: {}, parents: [] }));
  return [a, ...parents, it.tool, servers.get(it.tool.parents[0]!.id)!];
};
async function run(name: string, decide: (it: Item) => unknown, count = PER_ITERATION): Promise<void> {
  const lat = (latencies[name] ??= []);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const it = next();
    const t0 = performance.now();
    await decide(it);
    if (lat.length < 200_000) lat.push(performance.now() - t0);
  }
  const total = (totals[name] ??= { n: 0, ms: 0 });
  total.n += count;
  total.ms += performance.now() - start;
}
const viaAuthorizer = (authorizer: Authorizer) => (it: Item) =>
  authorizer.authorize(it.request, { extraEntities: [it.tool, servers.get(it.tool.parents[0]!.id)!] });
const staticPolicies50 = Object.fromEntries(set50.policies);
const RAW_SCHEMA = 'bench-raw-schema';
cedar.preparseSchema(RAW_SCHEMA, wardenSchema);
cedar.preparsePolicySet('bench-raw-50', { staticPolicies: staticPolicies50 });
cedar.preparsePolicySet('bench-raw-1000', { staticPolicies: Object.fromEntries(set1000.policies) });
const rawStateful = (name: string) => (it: Item) =>
  cedar.statefulIsAuthorized({ ...it.request, context: it.request.context as cedar.Context, preparsedSchemaName: RAW_SCHEMA, preparsedPolicySetId: name, validateRequest: true, entities: slice(it) as cedar.EntityJson[] });

describe('authorize (100 agents, 500 tools, 90% repeated requests)', () => {
  bench('warden: authorizer, 50 policies, cached', () => run('authorizer-50-cached', viaAuthorizer(cached)), options);
  bench('warden: authorizer, 1,000 policies, uncached (x200)', () => run('authorizer-1000-uncached', viaAuthorizer(uncached), 200), slow);
  bench('warden: engine.evaluate (no cache, no audit), 50 policies (x200)', () => run('engine-evaluate-50', (it) => engine.evaluate(set50, it.request, slice(it)), 200), slow);
  bench('baseline: raw cedar.statefulIsAuthorized (whole set preparsed), 50 policies (x200)', () => run('raw-stateful-50', rawStateful('bench-raw-50'), 200), slow);
  bench('baseline: raw cedar.statefulIsAuthorized (whole set preparsed), 1,000 policies (x50)', () => run('raw-stateful-1000', rawStateful('bench-raw-1000'), 50), slow);
  bench('baseline: raw cedar.isAuthorized (parses schema + policies), 50 policies (x50)', () =>
    run('raw-isAuthorized-50', (it) => cedar.isAuthorized({ ...it.request, context: it.request.context as cedar.Context, schema: wardenSchema, policies: { staticPolicies: staticPolicies50 }, entities: slice(it) as cedar.EntityJson[] }), 50), slow);
});

afterAll(() => {
  const cachedTotal = totals['authorizer-50-cached']?.n ?? 0;
  const lines = [`cached authorizer: ${evaluations} evaluations for ${cachedTotal} decisions (${((evaluations / cachedTotal) * 100).toFixed(1)}% misses)`];
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
  };
  for (const [name, xs] of Object.entries(latencies)) {
    const t = totals[name]!;
    lines.push(`${name}: ${Math.round((t.n / t.ms) * 1000)} decisions/s, p50 ${(pct(xs, 50) * 1000).toFixed(0)} µs, p99 ${(pct(xs, 99) * 1000).toFixed(0)} µs (n=${t.n})`);
  }
  process.stdout.write(`\npolicy decisions (time inside the bench functions):\n${lines.join('\n')}\n`);
});
