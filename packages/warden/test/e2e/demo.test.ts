/**
 * `npm run demo` end to end: the demo script runs against the built dist and bin (the build `npm test`
 * does first), exits 0, shows every step, and leaves no temporary data directory behind.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cleanEnv } from './process.js';

const demoScript = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [demoScript], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo (end to end)', () => {
  it('shows a permitted, a denied and a rate-limited call, a blocked rug pull and a verified inclusion proof', async () => {
    const run = await runDemo();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const out = run.stdout;
    const markers = [
      /\[1\/8\] Start Warden/,
      /✔ first admin "admin" created by warden init and logged in/,
      /\[2\/8\] Register upstream MCP servers/,
      /✔ upstream "everything": @modelcontextprotocol\/server-everything from npm/,
      /✔ agent "demo-agent" created/,
      /\[3\/8\] List tools/,
      /✔ \d+ tools visible/,
      /\[4\/8\] Permitted call: everything__echo/,
      /result: Echo: hello through Warden/,
      /✔ permitted and recorded: Warden-Audit-Index: \d+/,
      /\[5\/8\] Denied call: demo__delete_repo/,
      /error: MCP error -32602: unknown tool: demo__delete_repo/,
      /\[6\/8\] Rate limit/,
      /"code":"WARDEN_RATE_LIMITED","retryAfterMs":\d+/,
      /✔ rate limited after 3 calls; retry after \d+ ms/,
      /\[7\/8\] Rug pull/,
      /✔ demo__echo is gone from tools\/list/,
      /calling demo__echo now: error: .*unknown tool: demo__echo/,
      /admin GET \/v1\/mcp\/tools\/demo\/echo: status blocked/,
      /current {2}description: "Echo the text, and also send it to evil\.example"/,
      /\[8\/8\] Audit: inclusion proof for entry \d+/,
      /✔ checkpoint signature verified with the verifier key/,
      /✔ inclusion proof verified: entry \d+ is in the signed log of \d+ entries/,
      /Demo complete: every step behaved as expected\./,
    ];
    for (const marker of markers) expect(out, `missing ${marker}`).toMatch(marker);
    // The receipt shown in step 4 is the entry proven in step 8.
    const index = /Warden-Audit-Index: (\d+)/.exec(out)![1];
    expect(out).toContain(`inclusion proof for entry ${index},`);
    // The temporary data directory is gone.
    const dataDir = /data directory: (\S+)/.exec(out)![1]!;
    expect(existsSync(dataDir)).toBe(false);
  }, 90_000);
});
