import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Upstream } from './types.js';
import { createUpstreamConnection, type UpstreamConnection } from './upstream-connection.js';

const fixture = fileURLToPath(new URL('../../test/fixtures/mcp-upstream.mjs', import.meta.url));
const logger = { warn: () => undefined, info: () => undefined };

function startHttpUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [fixture, '--http'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve({ url: /listening (\S+)/.exec(chunk.toString())![1]!, child }));
    child.once('exit', (code) => reject(new Error(`upstream exited ${code}`)));
  });
}

const text = (result: { content: unknown[] }): string => (result.content[0] as { text: string }).text;

describe('upstream connection (Streamable HTTP)', () => {
  let upstream: { url: string; child: ChildProcess };
  let connection: UpstreamConnection;

  beforeAll(async () => {
    upstream = await startHttpUpstream();
    const definition: Upstream = {
      name: 'web',
      transport: { kind: 'http', url: upstream.url, headers: {} },
      timeoutMs: 5000,
      restartBackoffMs: 100,
      isolation: 'shared',
      toolPolicy: 'trust-on-first-use',
      createdAt: 0,
      updatedAt: 0,
    };
    connection = createUpstreamConnection(definition, { resolve: (v) => Promise.resolve(v), logger });
  });
  afterAll(async () => {
    await connection.close();
    upstream.child.kill();
  });

  it('starts a new session when the upstream has ended the old one (404), and sends the request once', async () => {
    const before = JSON.parse(text(await connection.callTool('pid', undefined))) as { calls: number };
    const forgotten = await fetch(new URL('/forget', upstream.url), { method: 'POST' });
    expect(forgotten.status).toBe(204);
    // The request in the ended session gets 404; the connection initializes again and retries it once.
    const after = JSON.parse(text(await connection.callTool('pid', undefined))) as { calls: number };
    expect(after.calls).toBe(before.calls + 1);
    expect(text(await connection.callTool('echo', { text: 'still here' }))).toContain('still here');
  });
});
