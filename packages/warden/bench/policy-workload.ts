/**
 * The authorization benchmark's workload, shared by `policy.bench.ts` (in vitest, over the TypeScript
 * source) and `policy-build.ts` (in plain node, over the compiled `dist/`, as the server runs it): 100
 * agents (10 roles), 500 tools on 20 servers, 50 or 1,000 generated policies, and a request stream where
 * 90% of requests repeat a hot set of 100 and 10% are fresh (agent × tool × hour: 1.2M combinations).
 * The policy API is passed in, so the same workload runs against either build.
 */
import { performance } from 'node:perf_hooks';
import type { Agent, AgentLookup } from '../src/identity/types.js';
import type { AuthorizationRequest, Authorizer, CedarEntity, agentEntity, agentEntityProvider, createAuthorizer, createPolicyEngine } from '../src/policy/index.js';

export interface PolicyApi {
  agentEntity: typeof agentEntity;
  agentEntityProvider: typeof agentEntityProvider;
  createAuthorizer: typeof createAuthorizer;
  createPolicyEngine: typeof createPolicyEngine;
}

export interface Item {
  request: AuthorizationRequest;
  tool: CedarEntity;
}

const ROLES = 10;
const SERVERS = 20;
/** Decisions per call of `run`. */
export const PER_ITERATION = 1000;

export function policies(count: number): string {
  const out: string[] = [
    '@id("no-destructive")\nforbid(principal, action, resource is Warden::Tool) when { resource.destructive };',
    '@id("risk")\nforbid(principal, action, resource) when { context.riskScore > 80 || context.findings.highestScore > 90 };',
  ];
  for (let i = out.length; i < count; i++) {
    out.push(`@id("p${i}")\npermit(principal in Warden::Role::"role-${i % ROLES}", action == Warden::Action::"mcp:call_tool", resource in Warden::Server::"server-${i % SERVERS}")
  when { resource.sensitivity <= principal.clearance && principal.hasTag("team") && principal.getTag("team") != "team-${i % 7}" && context.hour >= ${i % 8} };`);
  }
  return out.join('\n');
}

export function policyWorkload(api: PolicyApi) {
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

  const contextFor = (hour: number) => ({ hour, weekday: 2, sourceIp: '10.0.0.1', riskScore: 0, findings: { categories: [], highestScore: 0 } });
  const item = (a: number, t: number, hour: number): Item => {
    const tool = tools[t]!;
    return {
      request: { principal: { type: 'Warden::Agent', id: `agent-${a}` }, action: { type: 'Warden::Action', id: 'mcp:call_tool' }, resource: tool.uid, context: contextFor(hour) },
      tool,
    };
  };
  /** mulberry32: deterministic, well distributed. */
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const hot = Array.from({ length: 100 }, () => item(rand(100), rand(500), 12));
  const stream: Item[] = Array.from({ length: 100_000 }, () => (rand(10) < 9 ? hot[rand(100)]! : item(rand(100), rand(500), rand(24))));

  const engine = api.createPolicyEngine();
  const set50 = engine.compile(1, [{ name: 'bench.cedar', text: policies(50) }]);
  const set1000 = engine.compile(2, [{ name: 'bench.cedar', text: policies(1000) }]);
  const audited: unknown[] = [];
  const audit = {
    append: (e: unknown) => {
      audited.push(e);
      if (audited.length > 10_000) audited.length = 0;
      return Promise.resolve();
    },
  };
  /** As the server composes it (`server/policy.ts`): resolved agents are kept for 1 s. */
  const providers = [api.agentEntityProvider(lookup, { cacheTtlMs: 1000 })];
  let evaluations = 0;
  const counting = { ...engine, evaluate: (...args: Parameters<typeof engine.evaluate>) => (evaluations++, engine.evaluate(...args)) };
  const cached = api.createAuthorizer({ engine: counting, active: () => set50, providers, audit, cacheSize: 10_000 });
  const uncached = api.createAuthorizer({ engine, active: () => set1000, providers, audit, cacheSize: 0 });

  const latencies: Record<string, number[]> = {};
  const totals: Record<string, { n: number; ms: number }> = {};
  let cursor = 0;
  const next = (): Item => {
    cursor = (cursor + 1) % stream.length;
    return stream[cursor]!;
  };
  /** The entity slice a caller without Warden's providers would pass (agent, its roles, tool, server). */
  const slice = (it: Item): CedarEntity[] => {
    const a = api.agentEntity(byName.get(it.request.principal.id)!);
    const parents = a.parents.map((uid): CedarEntity => ({ uid, attrs: {}, parents: [] }));
    return [a, ...parents, it.tool, servers.get(it.tool.parents[0]!.id)!];
  };
  /** Makes `count` sequential decisions from the stream, recording each latency. */
  const run = async (name: string, decide: (it: Item) => unknown, count = PER_ITERATION): Promise<void> => {
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
  };
  const viaAuthorizer = (authorizer: Authorizer) => (it: Item) =>
    authorizer.authorize(it.request, { extraEntities: [it.tool, servers.get(it.tool.parents[0]!.id)!] });
  /** `name: n decisions/s, p50, p99` per recorded run. */
  const summary = (): string[] => {
    const pct = (xs: number[], p: number) => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
    };
    return Object.entries(latencies).map(([name, xs]) => {
      const t = totals[name]!;
      return `${name}: ${Math.round((t.n / t.ms) * 1000)} decisions/s, p50 ${(pct(xs, 50) * 1000).toFixed(0)} µs, p99 ${(pct(xs, 99) * 1000).toFixed(0)} µs (n=${t.n})`;
    });
  };

  return { engine, set50, set1000, cached, uncached, slice, run, viaAuthorizer, summary, evaluations: () => evaluations, totals };
}
