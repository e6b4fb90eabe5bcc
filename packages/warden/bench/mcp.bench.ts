/**
 * Benchmark: the MCP gateway. A real `warden serve` process (SQLite, file seal) with a Streamable-HTTP
 * upstream registered (the official-SDK fixture in `--http` mode, one server per session, in its own
 * process), tool policy trust-on-first-use, an agent with an access token for `<url>/mcp` and a policy
 * permitting it to call tools. Every `tools/call` through Warden is authenticated, authorized, rate-limited
 * (buckets raised far above the load so they never refuse), audited and forwarded. The direct baseline in
 * the same run sends the same `tools/call` to the same upstream over one initialized MCP session. One
 * load generator for both (undici Pool, keep-alive, 16 connections) in this process, on the same 2 cores:
 * closed loop with 64 in flight (throughput), and open loop at 500 calls/s (latency measured from each
 * call's scheduled send time). A second Warden process with screening off (`screen.gateway: false`) gets
 * the same load, so what screening both ways adds is measured in the same run. Totals, percentiles and the CPU time per call of the Warden and upstream
 * processes (Linux /proc) are printed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { initWithAdmin, login } from '../test/e2e/admin.js';
import { runWarden, startWardenProcess, type ServerProcess } from '../test/e2e/process.js';

const fixture = fileURLToPath(new URL('../test/fixtures/mcp-upstream.mjs', import.meta.url));
const REQUESTS = 1000;
const IN_FLIGHT = 64;
const CONNECTIONS = 16;
// WARDEN_BENCH_MCP_RATE: another open-loop rate (calls/s), e.g. one below Warden's saturation point.
const PACED_RATE = Number(process.env.WARDEN_BENCH_MCP_RATE ?? 500);
const PACED_SECONDS = 2;
// tinybench also calls each function once per phase to see whether it is async: 3 runs of each in all.
const closed = { time: 0, iterations: 1, warmupTime: 0, warmupIterations: 0 };
const paced = { time: 0, iterations: 1, warmupTime: 0, warmupIterations: 0 };

let server: ServerProcess;
/** The same gateway with screening off (`screen.gateway: false`): what screening both ways adds. */
let unscreenedServer: ServerProcess;
let unscreenedHeaders: Record<string, string>;
let unscreenedPool: Pool;
let upstream: { url: string; child: ChildProcess };
let wardenPool: Pool;
let directPool: Pool;
let wardenHeaders: Record<string, string>;
let directHeaders: Record<string, string>;
let directPath: string;

const latencies: Record<string, number[]> = {};
const totals: Record<string, { n: number; ms: number }> = {};
/** CPU time (user + system, ms) the Warden and upstream processes spent during each measurement. */
const cpu: Record<string, { warden: number; upstream: number }> = {};
let nextId = 1;

/** User + system CPU time of a child process in ms (Linux /proc; 0 elsewhere). */
function cpuMs(child: ChildProcess): number {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** Adds the CPU time the two server processes spent since `w0`/`u0` to `cpu[name]`. */
function addCpu(name: string, t: Target, w0: number, u0: number): void {
  const c = (cpu[name] ??= { warden: 0, upstream: 0 });
  c.warden += cpuMs(t.warden ?? server.child) - w0;
  c.upstream += cpuMs(upstream.child) - u0;
}

interface Target {
  pool: Pool;
  path: string;
  headers: Record<string, string>;
  tool: string;
  /** The Warden process serving it (its CPU time is reported). */
  warden?: ChildProcess;
}

const body = (tool: string) => JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name: tool, arguments: { text: 'x' } } });

/** One tools/call; throws unless it is HTTP 200 with the echoed text. */
async function call(name: string, t: Target): Promise<void> {
  const res = await t.pool.request({ method: 'POST', path: t.path, body: body(t.tool), headers: t.headers });
  const text = await res.body.text();
  if (res.statusCode !== 200 || !text.includes('echo: x')) throw new Error(`${name}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
}

/** Closed loop: `count` calls with at most IN_FLIGHT outstanding; records each latency. */
async function load(name: string, t: Target, count = REQUESTS): Promise<void> {
  const lat = (latencies[name] ??= []);
  let sent = 0;
  const start = performance.now();
  const w0 = cpuMs(t.warden ?? server.child);
  const u0 = cpuMs(upstream.child);
  const worker = async () => {
    while (sent < count) {
      sent++;
      const t0 = performance.now();
      await call(name, t);
      lat.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  addCpu(name, t, w0, u0);
  const total = (totals[name] ??= { n: 0, ms: 0 });
  total.n += count;
  total.ms += performance.now() - start;
}

/** Open loop: call i is due at start + i/rate; its latency counts from that due time, not from when it went out. */
async function pace(name: string, t: Target, rate = PACED_RATE, seconds = PACED_SECONDS): Promise<void> {
  const lat = (latencies[name] ??= []);
  const count = rate * seconds;
  const interval = 1000 / rate;
  const pending: Promise<void>[] = [];
  const start = performance.now() + 5;
  const w0 = cpuMs(t.warden ?? server.child);
  const u0 = cpuMs(upstream.child);
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < count && start + i * interval <= now) {
        const due = start + i * interval;
        pending.push(call(name, t).then(() => void lat.push(performance.now() - due)));
        i++;
      }
      if (i >= count) resolve();
      else setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    setTimeout(tick, 5);
  });
  await Promise.all(pending);
  addCpu(name, t, w0, u0);
  const total = (totals[name] ??= { n: 0, ms: 0 });
  total.n += count;
  total.ms += performance.now() - start;
}

function startHttpUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [fixture, '--http'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve({ url: /listening (\S+)/.exec(chunk.toString())![1]!, child }));
    child.once('exit', (code) => reject(new Error(`upstream exited ${code}`)));
  });
}

/** Opens one MCP session on the upstream (initialize, notifications/initialized) and returns its id. */
async function directSession(url: string): Promise<string> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } } }),
  });
  const session = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !session) throw new Error(`initialize: ${init.status} ${await init.text()}`);
  await init.text();
  const done = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  if (done.status !== 202) throw new Error(`initialized: ${done.status} ${await done.text()}`);
  await done.text();
  return session;
}

/** A Warden process with the upstream registered, the agent, its policy and an access token; `yaml` is appended to its config. */
async function startWarden(yaml: string): Promise<{ server: ServerProcess; headers: Record<string, string>; pool: Pool }> {
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-mcp-'));
  const dataDir = join(root, 'data');
  const admin = await initWithAdmin(dataDir);
  // The limit stage still runs on every call; its buckets are set far above the load so it never refuses.
  appendFileSync(
    join(dataDir, 'warden.yaml'),
    `gateway:\n  rateLimits:\n    perAgent: { rate: 1000000, burst: 1000000 }\n    perAgentTool: { rate: 1000000, burst: 1000000 }\n${yaml}`,
  );
  const started = await startWardenProcess(['--data-dir', dataDir, '--listen', '127.0.0.1:0'], { env: { WARDEN_LOG_LEVEL: 'warn' } });
  const token = await login(started.url, admin);
  const env = { WARDEN_TOKEN: token, WARDEN_ADDR: started.url };
  const run = async (args: string[]) => {
    const r = await runWarden(args, { env });
    if (r.code !== 0) throw new Error(`warden ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const registered = await fetch(`${started.url}/v1/mcp/servers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'web', transport: { kind: 'http', url: upstream.url }, toolPolicy: 'trust-on-first-use' }),
  });
  if (registered.status !== 201) throw new Error(`register upstream: ${registered.status} ${await registered.text()}`);
  const dir = join(root, 'policies');
  mkdirSync(dir);
  writeFileSync(join(dir, 'mcp.cedar'), '@id("bench-bot-tools")\npermit(principal == Warden::Agent::"bench-bot", action == Warden::Action::"mcp:call_tool", resource);\n');
  await run(['policies', 'apply', dir]);
  await run(['agents', 'create', 'bench-bot', '--owner', 'bench']);
  const { secret } = JSON.parse(await run(['agents', 'credentials', 'add', 'bench-bot', '--secret', '--json'])) as { secret: string };
  const issued = await fetch(`${started.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`bench-bot:${secret}`).toString('base64')}` },
    body: `grant_type=client_credentials&resource=${encodeURIComponent(`${started.url}/mcp`)}`,
  });
  if (issued.status !== 200) throw new Error(`token: ${issued.status} ${await issued.text()}`);
  const agentToken = ((await issued.json()) as { access_token: string }).access_token;
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${agentToken}` };
  const pool = new Pool(started.url, { connections: CONNECTIONS });
  // First call: Warden discovers and pins the upstream's tools (trust on first use) and connects to it.
  await call('warmup', { pool, path: '/mcp', headers, tool: 'web__echo' });
  return { server: started, headers, pool };
}

beforeAll(async () => {
  upstream = await startHttpUpstream();
  ({ server, headers: wardenHeaders, pool: wardenPool } = await startWarden(''));
  ({ server: unscreenedServer, headers: unscreenedHeaders, pool: unscreenedPool } = await startWarden('screen:\n  gateway: false\n'));
  const common = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  directHeaders = { ...common, 'mcp-session-id': await directSession(upstream.url), 'mcp-protocol-version': '2025-06-18' };
  directPath = new URL(upstream.url).pathname;
  directPool = new Pool(new URL(upstream.url).origin, { connections: CONNECTIONS });
  // Warm every process up (JIT, sessions, pools) before anything is measured, so that the first bench in
  // the file does not pay for it: without this, the upstream's CPU per call in the first run was 2–3× the rest.
  const warm = async (t: Target, n: number) => {
    let left = n;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await call('warmup', t);
    }));
  };
  await warm({ pool: directPool, path: directPath, headers: directHeaders, tool: 'echo' }, 2000);
  await warm({ pool: wardenPool, path: '/mcp', headers: wardenHeaders, tool: 'web__echo' }, 1000);
  await warm({ pool: unscreenedPool, path: '/mcp', headers: unscreenedHeaders, tool: 'web__echo' }, 1000);
}, 180_000);

afterAll(async () => {
  await wardenPool?.close();
  await unscreenedPool?.close();
  await directPool?.close();
  upstream?.child.kill();
  await server?.stop();
  await unscreenedServer?.stop();
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
  };
  const lines = Object.entries(totals).map(([name, t]) => {
    const xs = latencies[name] ?? [];
    const rate = Math.round((t.n / t.ms) * 1000);
    const c = cpu[name];
    const perCall = c ? `; CPU per call: warden ${((c.warden / t.n) * 1000).toFixed(0)} µs, upstream ${((c.upstream / t.n) * 1000).toFixed(0)} µs` : '';
    return `${name}: ${rate} calls/s, p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms (n=${t.n})${perCall}`;
  });
  const added = (p: number) => pct(latencies['warden-paced'] ?? [], p) - pct(latencies['direct-paced'] ?? [], p);
  lines.push(`added latency at ${PACED_RATE} calls/s (warden - direct): p50 ${added(50).toFixed(2)} ms, p99 ${added(99).toFixed(2)} ms`);
  const screening = (p: number) => pct(latencies['warden-paced'] ?? [], p) - pct(latencies['unscreened-paced'] ?? [], p);
  lines.push(`added by screening both ways at ${PACED_RATE} calls/s (warden - warden without screening): p50 ${screening(50).toFixed(2)} ms, p99 ${screening(99).toFixed(2)} ms`);
  lines.push(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  process.stdout.write(`\nmcp (time inside the bench functions):\n${lines.join('\n')}\n`);
});

describe('MCP tools/call over Streamable HTTP, through Warden vs direct (load generator on the same 2 cores)', () => {
  const warden = (): Target => ({ pool: wardenPool, path: '/mcp', headers: wardenHeaders, tool: 'web__echo' });
  const direct = (): Target => ({ pool: directPool, path: directPath, headers: directHeaders, tool: 'echo' });
  const unscreened = (): Target => ({ pool: unscreenedPool, path: '/mcp', headers: unscreenedHeaders, tool: 'web__echo', warden: unscreenedServer.child });
  bench(`warden: tools/call, ${IN_FLIGHT} in flight (authn, authz, limit, screen both ways, audit, forward)`, () => load('warden-64-in-flight', warden()), closed);
  bench(`warden without screening: tools/call, ${IN_FLIGHT} in flight`, () => load('unscreened-64-in-flight', unscreened()), closed);
  bench(`baseline: direct to the upstream session, ${IN_FLIGHT} in flight`, () => load('direct-64-in-flight', direct()), closed);
  bench(`warden: tools/call paced at ${PACED_RATE}/s for ${PACED_SECONDS} s`, () => pace('warden-paced', warden()), paced);
  bench(`warden without screening: paced at ${PACED_RATE}/s for ${PACED_SECONDS} s`, () => pace('unscreened-paced', unscreened()), paced);
  bench(`baseline: direct paced at ${PACED_RATE}/s for ${PACED_SECONDS} s`, () => pace('direct-paced', direct()), paced);
});
