#!/usr/bin/env node
/**
 * `npm run demo`: Warden end to end in under a minute, against the built `dist` and `bin`.
 *
 * Starts Warden on embedded defaults (SQLite, file seal) in a temporary data directory on 127.0.0.1
 * (port 0), creates the first admin and logs in (TOTP), registers two real MCP servers over stdio —
 * `@modelcontextprotocol/server-everything` from npm ("everything") and a small server that can change
 * one of its own tools ("demo", test/fixtures/mcp-upstream.mjs, for the rug pull) — applies example
 * Cedar policies, creates a demo agent, and then, as that agent with the official MCP SDK client, shows:
 * a permitted call, a denied call, a rate-limited call, a pinned tool whose definition changed being
 * blocked, and an inclusion proof for the permitted call verified offline against a signed checkpoint.
 *
 * Exits 0 when every step behaved as expected, 1 otherwise; always stops the server and removes the
 * temporary directory.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { TOTP } from 'otpauth';
import { leafHash, verifyInclusion } from '../dist/audit/merkle.js';
import { openCheckpoint } from '../dist/audit/checkpoint.js';

const wardenBin = fileURLToPath(new URL('../bin/warden.js', import.meta.url));
const demoUpstream = fileURLToPath(new URL('../test/fixtures/mcp-upstream.mjs', import.meta.url));
const everythingServer = fileURLToPath(import.meta.resolve('@modelcontextprotocol/server-everything/dist/index.js'));

const AGENT = 'demo-agent';
const BURST = 3;

const policies = `// Example policies for the demo agent (Cedar). Everything not permitted is denied.

// The agent may call read-only tools (MCP annotation readOnlyHint) of any registered server...
@id("demo-agent-reads")
permit (principal == Warden::Agent::"${AGENT}", action == Warden::Action::"mcp:call_tool", resource)
when { resource.readOnly };

// ...and never a destructive one, whatever else is permitted later.
@id("no-destructive-tools")
forbid (principal, action == Warden::Action::"mcp:call_tool", resource)
when { resource.destructive };
`;

// ---------------------------------------------------------------------------------------------------
// Output

const total = 8;
let stepNo = 0;
function step(title) {
  stepNo += 1;
  console.log(`\n[${stepNo}/${total}] ${title}`);
}
const info = (text) => console.log(`      ${text}`);
const ok = (text) => console.log(`   ✔ ${text}`);

class DemoFailure extends Error {}
function expect(condition, what) {
  if (!condition) throw new DemoFailure(`unexpected: ${what}`);
}

// ---------------------------------------------------------------------------------------------------
// Processes

/** The parent's environment without any WARDEN_* setting (the demo must not touch a real Warden). */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('WARDEN_')) env[key] = value;
  return env;
}

function runWarden(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wardenBin, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new DemoFailure(`warden ${args.join(' ')} exited with ${code}:\n${stderr}`));
    });
  });
}

/** `warden serve …`, resolved with its URL once it prints "serving on <url>". */
function startServer(args) {
  const child = spawn(process.execPath, [wardenBin, 'serve', ...args], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DemoFailure(`warden serve did not start in time:\n${stderr}`));
    }, 30_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
      const match = /serving on (\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], stop, stderr: () => stderr });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new DemoFailure(`warden serve exited with ${code}:\n${stderr}`));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a truthy value (or throws DemoFailure after `timeoutMs`). */
async function waitFor(what, fn, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new DemoFailure(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The message of a rejected promise (and the JSON-RPC error data, if any); DemoFailure if it resolved. */
async function errorOf(promise) {
  try {
    await promise;
  } catch (err) {
    return { message: err instanceof Error ? err.message : String(err), data: err?.data };
  }
  throw new DemoFailure('the call succeeded, but it should have been refused');
}

const textOf = (result) =>
  (result.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join(' ');

// ---------------------------------------------------------------------------------------------------
// The demo

async function demo(root, cleanups) {
  // 1 ------------------------------------------------------------------------------------------------
  step('Start Warden on embedded defaults in a temporary data directory');
  const dataDir = join(root, 'data');
  const init = JSON.parse(await runWarden(['init', '--data-dir', dataDir, '--json']));
  const admin = init.admin;
  expect(admin?.username && admin.password && admin.totpSecret, 'warden init --json printed no first admin');
  // A tight per-agent, per-tool rate limit, so that the demo can hit it.
  appendFileSync(join(dataDir, 'warden.yaml'), `gateway:\n  rateLimits:\n    perAgentTool:\n      rate: 0.05\n      burst: ${BURST}\n`);
  const server = await startServer(['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
  cleanups.push(() => server.stop());
  const url = server.url;
  info(`data directory: ${dataDir} (${init.store}, ${init.seal} seal)`);
  info(`serving on ${url}; rate limit per agent and tool: burst ${BURST}`);
  const login = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username: admin.username,
      password: admin.password,
      totp: new TOTP({ secret: admin.totpSecret, digits: 6, period: 30, algorithm: 'SHA1' }).generate(),
    }),
  });
  expect(login.status === 200, `admin login answered ${login.status}: ${await login.clone().text()}`);
  const adminToken = (await login.json()).token;
  ok(`first admin "${admin.username}" created by warden init and logged in (password + TOTP)`);

  const api = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return res;
  };
  const apiJson = async (method, path, body, status = 200) => {
    const res = await api(method, path, body);
    const text = await res.text();
    expect(res.status === status, `${method} ${path} answered ${res.status} (expected ${status}): ${text}`);
    return JSON.parse(text);
  };

  // 2 ------------------------------------------------------------------------------------------------
  step('Register upstream MCP servers, apply example policies, create the demo agent');
  await apiJson(
    'POST',
    '/v1/mcp/servers',
    { name: 'everything', transport: { kind: 'stdio', command: process.execPath, args: [everythingServer, 'stdio'] }, toolPolicy: 'trust-on-first-use' },
    201,
  );
  ok('upstream "everything": @modelcontextprotocol/server-everything from npm, over stdio (trust on first use)');
  await apiJson(
    'POST',
    '/v1/mcp/servers',
    { name: 'demo', transport: { kind: 'stdio', command: process.execPath, args: [demoUpstream] }, toolPolicy: 'trust-on-first-use' },
    201,
  );
  ok('upstream "demo": a small server that can rewrite its own echo tool (for the rug pull), over stdio');
  const applied = await apiJson('PUT', '/v1/policies', { files: [{ name: 'demo.cedar', text: policies }], comment: 'warden demo' });
  for (const line of policies.trim().split('\n')) info(`  ${line}`);
  ok(`policies applied as policy set version ${applied.version}: read-only tools permitted for ${AGENT}, destructive tools forbidden`);
  await apiJson('POST', '/v1/agents', { name: AGENT, owner: 'demo' }, 201);
  const { secret } = await apiJson('POST', `/v1/agents/${AGENT}/credentials`, { kind: 'client_secret', label: 'demo' }, 201);
  expect(typeof secret === 'string', 'no client secret was returned');
  const tokenRes = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${AGENT}:${secret}`).toString('base64')}`,
    },
    body: `grant_type=client_credentials&resource=${encodeURIComponent(`${url}/mcp`)}`,
  });
  expect(tokenRes.status === 200, `token request answered ${tokenRes.status}: ${await tokenRes.clone().text()}`);
  const agentToken = (await tokenRes.json()).access_token;
  ok(`agent "${AGENT}" created with a client secret; access token issued for ${url}/mcp`);

  // The agent: the official MCP SDK client over Streamable HTTP. A wrapping fetch keeps the last
  // Warden-Audit-Index response header (the receipt of a tool call), which the SDK does not expose.
  let lastAuditIndex;
  const capturingFetch = async (input, init) => {
    const res = await fetch(input, init);
    const index = res.headers.get('warden-audit-index');
    if (index !== null) lastAuditIndex = Number(index);
    return res;
  };
  const client = new Client({ name: 'warden-demo-agent', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { fetch: capturingFetch, requestInit: { headers: { authorization: `Bearer ${agentToken}` } } }),
  );
  cleanups.push(() => client.close());
  const listNames = async () => (await client.listTools()).tools.map((t) => t.name);

  // 3 ------------------------------------------------------------------------------------------------
  step('List tools as the agent (MCP SDK client → Warden /mcp)');
  const names = await waitFor('the upstream tools', async () => {
    const list = await listNames();
    return list.includes('everything__echo') && list.includes('demo__echo') ? list : undefined;
  });
  info(`visible: ${[...names].sort().join(', ')}`);
  expect(!names.includes('demo__delete_repo'), 'the destructive tool demo__delete_repo is listed');
  ok(`${names.length} tools visible; destructive and write tools (e.g. demo__delete_repo) are hidden by policy`);

  // 4 ------------------------------------------------------------------------------------------------
  step('Permitted call: everything__echo');
  lastAuditIndex = undefined;
  const permitted = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello through Warden' } });
  expect(!permitted.isError, `everything__echo failed: ${textOf(permitted)}`);
  info(`result: ${textOf(permitted)}`);
  expect(Number.isSafeInteger(lastAuditIndex), 'the tool call response carried no Warden-Audit-Index header');
  const auditIndex = lastAuditIndex;
  ok(`permitted and recorded: Warden-Audit-Index: ${auditIndex}`);

  // 5 ------------------------------------------------------------------------------------------------
  step('Denied call: demo__delete_repo (a destructive tool)');
  const denied = await errorOf(client.callTool({ name: 'demo__delete_repo', arguments: { repo: 'acme/prod' } }));
  info(`error: ${denied.message}`);
  expect(/unknown tool/.test(denied.message), `unexpected denial: ${denied.message}`);
  ok('denied by policy; a forbidden tool looks exactly like one that does not exist');

  // 6 ------------------------------------------------------------------------------------------------
  step(`Rate limit: call everything__echo until its per-agent, per-tool bucket (burst ${BURST}) is empty`);
  // The permitted call above took one token already.
  let limited;
  for (let i = 2; i <= BURST + 2 && !limited; i++) {
    try {
      const echoed = await client.callTool({ name: 'everything__echo', arguments: { message: `call ${i}` } });
      info(`call ${i}: ${textOf(echoed)}`);
    } catch (err) {
      limited = { call: i, message: err.message, data: err.data };
    }
  }
  expect(limited, `no call was rate limited after ${BURST + 2} calls`);
  expect(limited.data?.code === 'WARDEN_RATE_LIMITED', `call ${limited.call} was refused with ${limited.message}`);
  expect(limited.call === BURST + 1, `call ${limited.call} was rate limited, expected call ${BURST + 1}`);
  info(`call ${limited.call}: error: ${limited.message} (data: ${JSON.stringify(limited.data)})`);
  expect(typeof limited.data.retryAfterMs === 'number' && limited.data.retryAfterMs > 0, 'no retryAfterMs in the refusal');
  ok(`rate limited after ${BURST} calls; retry after ${limited.data.retryAfterMs} ms (the refusal is audited too)`);

  // 7 ------------------------------------------------------------------------------------------------
  step('Rug pull: the demo upstream rewrites its pinned echo tool');
  const before = await client.callTool({ name: 'demo__echo', arguments: { text: 'before' } });
  info(`demo__echo before: ${textOf(before)}`);
  const mutated = await client.callTool({ name: 'demo__mutate', arguments: {} });
  info(`demo__mutate: ${textOf(mutated)} (the upstream changed echo's description and sent tools/list_changed)`);
  await waitFor('demo__echo to leave tools/list', async () => !(await listNames()).includes('demo__echo'));
  ok('demo__echo is gone from tools/list');
  const blocked = await errorOf(client.callTool({ name: 'demo__echo', arguments: { text: 'after' } }));
  info(`calling demo__echo now: error: ${blocked.message}`);
  expect(/unknown tool/.test(blocked.message), `unexpected refusal: ${blocked.message}`);
  const pin = await apiJson('GET', '/v1/mcp/tools/demo/echo');
  expect(pin.status === 'blocked', `the pin of demo/echo is ${pin.status}, expected blocked`);
  const diff = await apiJson('GET', '/v1/mcp/tools/demo/echo/diff');
  info(`admin GET /v1/mcp/tools/demo/echo: status ${pin.status}`);
  expect(Array.isArray(diff.changed) && diff.changed.includes('description'), `the diff names no changed description: ${JSON.stringify(diff)}`);
  info(`admin GET /v1/mcp/tools/demo/echo/diff: changed ${JSON.stringify(diff.changed)}`);
  for (const field of diff.changed) {
    info(`  approved ${field}: ${JSON.stringify(diff.approved?.[field])}`);
    info(`  current  ${field}: ${JSON.stringify(diff.current?.[field])}`);
  }
  ok('the changed tool is blocked until an admin approves the new definition');

  // 8 ------------------------------------------------------------------------------------------------
  step(`Audit: inclusion proof for entry ${auditIndex}, verified against a signed checkpoint`);
  const verifierKey = (await (await api('GET', '/v1/audit/verifier-key')).text()).trim();
  info(`verifier key: ${verifierKey}`);
  // Checkpoints are signed every checkpointInterval (1 s by default): wait for one that covers the entry.
  const { note, checkpoint } = await waitFor('a signed checkpoint covering the entry', async () => {
    const res = await api('GET', '/v1/audit/checkpoint');
    if (res.status !== 200) return undefined;
    const text = await res.text();
    const opened = openCheckpoint(text, verifierKey); // throws unless the Ed25519 signature verifies
    return opened.size > auditIndex ? { note: text, checkpoint: opened } : undefined;
  });
  info('signed checkpoint (C2SP signed note):');
  for (const line of note.trimEnd().split('\n')) info(`  ${line}`);
  ok(`checkpoint signature verified with the verifier key (origin ${checkpoint.origin}, size ${checkpoint.size})`);
  const proof = await apiJson('GET', `/v1/audit/proof/inclusion?index=${auditIndex}&size=${checkpoint.size}`);
  const { entries } = await apiJson('GET', `/v1/audit/entries?start=${auditIndex}&limit=1`);
  const entry = entries[0];
  expect(entry?.index === auditIndex, `no audit entry ${auditIndex}`);
  const event = JSON.parse(entry.body);
  info(`entry ${auditIndex}: ${event.action} by ${event.actor?.id} on ${event.resource?.id} (${event.status ?? event.outcome})`);
  expect(event.action === 'mcp.call_tool' && event.resource?.id === 'everything__echo', 'the entry is not the permitted call');
  const leaf = leafHash(Buffer.from(entry.body, 'utf8'));
  expect(leaf.equals(Buffer.from(proof.leafHash, 'base64')), 'the leaf hash recomputed from the entry differs from the one served');
  const path = proof.proof.map((p) => Buffer.from(p, 'base64'));
  info(`leaf hash (recomputed, RFC 9162): ${leaf.toString('base64')}; proof: ${path.length} hashes`);
  expect(verifyInclusion(leaf, auditIndex, checkpoint.size, path, checkpoint.root), 'the inclusion proof does not verify');
  const tampered = Buffer.from(entry.body.replace('everything__echo', 'everything__Echo'), 'utf8');
  expect(!verifyInclusion(leafHash(tampered), auditIndex, checkpoint.size, path, checkpoint.root), 'a tampered entry verified');
  ok(`inclusion proof verified: entry ${auditIndex} is in the signed log of ${checkpoint.size} entries (a tampered entry is rejected)`);
}

// ---------------------------------------------------------------------------------------------------

const root = mkdtempSync(join(tmpdir(), 'warden-demo-'));
const cleanups = [];
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // best effort: the server is stopped and the directory removed regardless
    }
  }
  rmSync(root, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\nDemo interrupted (${signal}); stopping Warden.`);
    void cleanup().finally(() => process.exit(130));
  });
}

console.log('Warden demo: an agent, a real MCP server, policies, a rate limit, a rug pull and a verifiable audit log.');
let exitCode = 0;
try {
  await demo(root, cleanups);
  console.log('\nDemo complete: every step behaved as expected.');
} catch (err) {
  exitCode = 1;
  console.error(`\nDemo FAILED at step ${stepNo}: ${err instanceof Error ? err.message : String(err)}`);
  if (!(err instanceof DemoFailure) && err instanceof Error && err.stack) console.error(err.stack);
} finally {
  await cleanup();
}
process.exit(exitCode);
