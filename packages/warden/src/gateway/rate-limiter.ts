/**
 * Token buckets for the gateway's limit stage: one per agent and one per agent and tool, each refilled
 * continuously at `rate` tokens per second up to `burst`. `take` spends one token from both or throws
 * WARDEN_RATE_LIMITED with `retryAfterMs` (and spends nothing). The limits are the config's, except
 * where `overrides` gives the agent its own (per bucket: an agent that sets only `perAgent` keeps the
 * config's `perAgentTool`); when an agent's limit changes its buckets follow at once (the new rate from
 * then on, the tokens capped at the new burst). In memory, per node: with several nodes each enforces
 * its own share (a shared Redis bucket is the planned next step).
 */
import { WardenError } from '../errors/index.js';

export interface BucketLimit {
  /** Tokens per second. */
  rate: number;
  burst: number;
}
export interface RateLimits {
  perAgent?: BucketLimit;
  perAgentTool?: BucketLimit;
}

/**
 * An agent's own limits, looked up synchronously on every `take` (so it must be a cache hit, not a
 * query); undefined means the config's. `prepare`, when present, loads what the lookup will answer.
 */
export interface RateLimitOverrides {
  (agent: string): Readonly<RateLimits> | undefined;
  prepare?(agent: string): Promise<void>;
}

export interface RateLimiter {
  /**
   * Resolves once `take` will see `agent`'s own limits (at once when they are already known). Optional
   * for correctness: without it, the first request of an agent not yet seen counts against the
   * config's limits while its own load.
   */
  prepare(agent: string): Promise<void>;
  /** Spends one token of the agent's bucket and of the agent+tool bucket, or throws WARDEN_RATE_LIMITED. */
  take(agent: string, tool: string): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 100_000;
const ready = Promise.resolve();

export function createRateLimiter(limits: RateLimits, now: () => number = Date.now, overrides?: RateLimitOverrides): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const level = (key: string, limit: BucketLimit): Bucket => {
    const t = now();
    let bucket = buckets.get(key);
    if (!bucket) {
      if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string);
      bucket = { tokens: limit.burst, at: t };
      buckets.set(key, bucket);
    }
    // Refill at the current rate and cap at the current burst: a changed limit applies from now on.
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((Math.max(0, t - bucket.at) / 1000) * limit.rate));
    bucket.at = t;
    return bucket;
  };
  return {
    prepare(agent) {
      return overrides?.prepare?.(agent) ?? ready;
    },
    take(agent, tool) {
      const own = overrides?.(agent);
      const perAgent = own?.perAgent ?? limits.perAgent;
      const perAgentTool = own?.perAgentTool ?? limits.perAgentTool;
      const checks: [Bucket, BucketLimit][] = [];
      if (perAgent) checks.push([level(`a\u0000${agent}`, perAgent), perAgent]);
      if (perAgentTool) checks.push([level(`t\u0000${agent}\u0000${tool}`, perAgentTool), perAgentTool]);
      const short = checks.filter(([bucket]) => bucket.tokens < 1);
      if (short.length > 0) {
        const retryAfterMs = Math.max(...short.map(([bucket, limit]) => Math.ceil(((1 - bucket.tokens) / limit.rate) * 1000)));
        throw new WardenError('WARDEN_RATE_LIMITED', 'rate limit exceeded', { details: { retryAfterMs } });
      }
      for (const [bucket] of checks) bucket.tokens -= 1;
    },
  };
}
