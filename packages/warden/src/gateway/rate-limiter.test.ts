/**
 * Tests of the gateway's token buckets: the config's limits, an agent's own limits over them (per
 * bucket), a changed limit taking effect at once, and `prepare` delegating to the overrides.
 */
import { describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { createRateLimiter, type RateLimitOverrides, type RateLimits } from './rate-limiter.js';

/** The `retryAfterMs` of a refused take, or 'ok'. */
function attempt(take: () => void): number | 'ok' {
  try {
    take();
    return 'ok';
  } catch (err) {
    if (isWardenError(err, 'WARDEN_RATE_LIMITED')) return (err.details as { retryAfterMs: number }).retryAfterMs;
    throw err;
  }
}

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('rate limiter', () => {
  it('limits by the config per agent and per agent and tool, spending nothing on a refusal', () => {
    const { now, advance } = clock();
    const limiter = createRateLimiter({ perAgent: { rate: 1, burst: 3 }, perAgentTool: { rate: 2, burst: 2 } }, now);
    expect([1, 2, 3].map(() => attempt(() => limiter.take('a', 'x')))).toEqual(['ok', 'ok', 500]);
    expect(attempt(() => limiter.take('a', 'y'))).toBe('ok');
    expect(attempt(() => limiter.take('a', 'z'))).toBe(1000);
    expect(attempt(() => limiter.take('b', 'x'))).toBe('ok');
    advance(1000);
    expect(attempt(() => limiter.take('a', 'z'))).toBe('ok');
  });

  it("uses an agent's own limit over the config's", () => {
    const { now } = clock();
    const own: Record<string, RateLimits> = { slow: { perAgent: { rate: 0.5, burst: 2 } } };
    const limiter = createRateLimiter({ perAgent: { rate: 100, burst: 100 } }, now, (agent) => own[agent]);
    expect([1, 2, 3].map(() => attempt(() => limiter.take('slow', 't')))).toEqual(['ok', 'ok', 2000]);
    expect(Array.from({ length: 50 }, () => attempt(() => limiter.take('fast', 't'))).every((r) => r === 'ok')).toBe(true);
  });

  it('falls back to the config for the bucket an agent does not set', () => {
    const { now } = clock();
    const config = { perAgent: { rate: 1, burst: 3 }, perAgentTool: { rate: 1, burst: 10 } };
    const own: Record<string, RateLimits> = { 'tool-limited': { perAgentTool: { rate: 1, burst: 1 } }, 'agent-limited': { perAgent: { rate: 1, burst: 20 } } };
    const limiter = createRateLimiter(config, now, (agent) => own[agent]);
    // perAgentTool is the agent's (burst 1), perAgent the config's (burst 3).
    expect(['x', 'x', 'y', 'z', 'w'].map((tool) => attempt(() => limiter.take('tool-limited', tool)))).toEqual(['ok', 1000, 'ok', 'ok', 1000]);
    // perAgent is the agent's (burst 20), perAgentTool the config's (burst 10).
    const results = Array.from({ length: 11 }, () => attempt(() => limiter.take('agent-limited', 'x')));
    expect(results.slice(0, 10).every((r) => r === 'ok')).toBe(true);
    expect(results[10]).toBe(1000);
    expect(Array.from({ length: 10 }, () => attempt(() => limiter.take('agent-limited', 'y'))).every((r) => r === 'ok')).toBe(true);
    expect(attempt(() => limiter.take('agent-limited', 'z'))).toBe(1000); // 20 spent: the agent's own burst
  });

  it('applies a changed limit at once: the new rate, the tokens capped at the new burst', () => {
    const { now, advance } = clock();
    let own: RateLimits | undefined = { perAgent: { rate: 1, burst: 10 } };
    const limiter = createRateLimiter({ perAgent: { rate: 1000, burst: 1000 } }, now, () => own);
    expect(attempt(() => limiter.take('a', 't'))).toBe('ok'); // 9 left
    own = { perAgent: { rate: 1, burst: 3 } };
    expect([1, 2, 3, 4].map(() => attempt(() => limiter.take('a', 't')))).toEqual(['ok', 'ok', 'ok', 1000]);
    own = { perAgent: { rate: 10, burst: 3 } };
    expect(attempt(() => limiter.take('a', 't'))).toBe(100);
    advance(100);
    expect(attempt(() => limiter.take('a', 't'))).toBe('ok');
    // A larger burst does not hand out tokens at once; they refill at the new rate.
    own = { perAgent: { rate: 1, burst: 100 } };
    expect(attempt(() => limiter.take('a', 't'))).toBe(1000);
    advance(5000);
    expect(Array.from({ length: 6 }, () => attempt(() => limiter.take('a', 't')))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 1000]);
    // Cleared: the config's limits again (the same bucket, now refilled up to 1000 at 1000/s).
    own = undefined;
    advance(1000);
    expect(Array.from({ length: 1000 }, () => attempt(() => limiter.take('a', 't'))).every((r) => r === 'ok')).toBe(true);
    expect(attempt(() => limiter.take('a', 't'))).toBe(1);
  });

  it('prepares through the overrides, and at once without them', async () => {
    const prepared: string[] = [];
    const overrides: RateLimitOverrides = Object.assign(() => undefined, {
      prepare: (agent: string) => {
        prepared.push(agent);
        return Promise.resolve();
      },
    });
    await createRateLimiter({}, Date.now, overrides).prepare('a');
    expect(prepared).toEqual(['a']);
    await expect(createRateLimiter({}).prepare('a')).resolves.toBeUndefined();
    await expect(createRateLimiter({}, Date.now, () => undefined).prepare('a')).resolves.toBeUndefined();
  });
});
