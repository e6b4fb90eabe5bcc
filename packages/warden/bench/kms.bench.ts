/**
 * Benchmark: KMS encrypt over HTTP. A real `warden serve` process (SQLite, file seal) with an agent, a
 * client secret, an access token for `<url>/v1/keys` and a policy permitting the agent to use the key;
 * every call is authenticated, authorized (decision cache on), audited (group commit) and encrypted.
 * The load generator (undici, keep-alive, 64 requests in flight over 16 connections) runs in this
 * process, on the same 2 cores. Baselines in the same run: raw node:crypto AES-256-GCM of 1 KiB in
 * this process, and a bare Fastify endpoint (separate process) that parses the same JSON body and
 * answers a constant — the HTTP floor on this machine. Per-request latencies and totals are printed
 * at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { initWithAdmin, login } from '../test/e2e/admin.js';
import { runWarden, startWardenProcess, type ServerProcess } from '../test/e2e/process.js';

const REQUESTS = 4000;
const IN_FLIGHT = 64;
const BATCH = 100;
const slow = { time: 0, iterations: 3, warmupTime: 0, warmupIterations: 1 };
const plaintext = randomBytes(1024).toString('base64');

let server: ServerProcess;
let bare: { url: string; child: ChildProcess };
let agentAuth: string;
let wardenPool: Pool;
let barePool: Pool;

const latencies: Record<string, number[]> = {};
const totals: Record<string, { n: number; ms: number }> = {};

/** Sends `count` POSTs with at most IN_FLIGHT outstanding; records each latency; `items` counts per request. */
async function load(name: string, pool: Pool, path: string, body: string, headers: Record<string, string>, count = REQUESTS, items = 1): Promise<void> {
  const lat = (latencies[name] ??= []);
  let sent = 0;
  const start = performance.now();
  const worker = async () => {
    while (sent < count) {
      sent++;
      const t0 = performance.now();
      const res = await pool.request({ method: 'POST', path, body, headers: { 'content-type': 'application/json', ...headers } });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${name}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
      lat.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const total = (totals[name] ??= { n: 0, ms: 0 });
  total.n += count * items;
  total.ms += performance.now() - start;
}

async function startBareFastify(): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    const fastify = require('fastify')({ logger: false, bodyLimit: 1048576 });
    fastify.post('/v1/keys/:name/encrypt', async (request) => ({ ciphertext: 'warden:v1:' + request.body.plaintext.slice(0, 64), keyVersion: 1 }));
    fastify.listen({ host: '127.0.0.1', port: 0 }).then((address) => console.log(address));`;
  const child = spawn(process.execPath, ['-e', script], { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`bare fastify exited ${code}`)));
  });
  return { url, child };
}

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-kms-'));
  // WARDEN_BENCH_POSTGRES_URL: run the server on PostgreSQL (an empty database) instead of SQLite.
  const storeEnv: Record<string, string> = process.env.WARDEN_BENCH_POSTGRES_URL ? { WARDEN_POSTGRES_URL: process.env.WARDEN_BENCH_POSTGRES_URL } : {};
  const admin = await initWithAdmin(join(root, 'data'), [], storeEnv);
  server = await startWardenProcess(['--data-dir', join(root, 'data'), '--listen', '127.0.0.1:0'], { env: { WARDEN_LOG_LEVEL: 'warn', ...storeEnv } });
  const token = await login(server.url, admin);
  const env = { WARDEN_TOKEN: token, WARDEN_ADDR: server.url };
  const run = async (args: string[]) => {
    const r = await runWarden(args, { env });
    if (r.code !== 0) throw new Error(`warden ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const dir = join(root, 'policies');
  mkdirSync(dir);
  writeFileSync(join(dir, 'kms.cedar'), '@id("bench-bot-payments")\npermit(principal == Warden::Agent::"bench-bot", action, resource == Warden::Key::"payments");\n');
  await run(['policies', 'apply', dir]);
  await run(['agents', 'create', 'bench-bot', '--owner', 'bench']);
  const { secret } = JSON.parse(await run(['agents', 'credentials', 'add', 'bench-bot', '--secret', '--json'])) as { secret: string };
  const created = await fetch(`${server.url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'payments', type: 'aes256-gcm' }),
  });
  if (created.status !== 201) throw new Error(`create key: ${created.status} ${await created.text()}`);
  const issued = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`bench-bot:${secret}`).toString('base64')}` },
    body: `grant_type=client_credentials&resource=${encodeURIComponent(`${server.url}/v1/keys`)}`,
  });
  if (issued.status !== 200) throw new Error(`token: ${issued.status} ${await issued.text()}`);
  agentAuth = `Bearer ${((await issued.json()) as { access_token: string }).access_token}`;
  wardenPool = new Pool(server.url, { connections: 16 });
  bare = await startBareFastify();
  barePool = new Pool(bare.url, { connections: 16 });
}, 120_000);

afterAll(async () => {
  await wardenPool?.close();
  await barePool?.close();
  bare?.child.kill();
  await server?.stop();
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
  };
  const lines = Object.entries(totals).map(([name, t]) => {
    const xs = latencies[name] ?? [];
    const rate = Math.round((t.n / t.ms) * 1000);
    return `${name}: ${rate} ops/s${xs.length ? `, p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms` : ''} (n=${t.n})`;
  });
  process.stdout.write(`\nkms (time inside the bench functions):\n${lines.join('\n')}\n`);
});

describe('kms encrypt 1 KiB over HTTP (keep-alive, 64 in flight, load generator on the same 2 cores)', () => {
  const single = JSON.stringify({ plaintext, context: { tenant: 'acme' } });
  const batch = JSON.stringify({ batch: Array.from({ length: BATCH }, () => ({ plaintext, context: { tenant: 'acme' } })) });
  bench('warden: encrypt, agent token, decision + audit per call', () => load('warden-encrypt', wardenPool, '/v1/keys/payments/encrypt', single, { authorization: agentAuth }), slow);
  bench(`warden: batch encrypt (${BATCH} items per call)`, () => load('warden-batch-encrypt-items', wardenPool, '/v1/keys/payments/encrypt', batch, { authorization: agentAuth }, REQUESTS / 20, BATCH), slow);
  bench('baseline: bare Fastify endpoint, same body', () => load('bare-fastify', barePool, '/v1/keys/payments/encrypt', single, {}), slow);
  bench('baseline: raw node:crypto AES-256-GCM 1 KiB (in process, x20000)', () => {
    const key = randomBytes(32);
    const data = randomBytes(1024);
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
      cipher.update(data);
      cipher.final();
      cipher.getAuthTag();
    }
    const total = (totals['raw-node-crypto'] ??= { n: 0, ms: 0 });
    total.n += 20_000;
    total.ms += performance.now() - start;
  }, slow);
});
