/**
 * Token buckets for the gateway's limit stage: one per agent and one per agent and tool, each refilled
 * continuously at `rate` tokens per second up to `burst`. `take` spends one token from both or throws
 * WARDEN_RATE_LIMITED with `retryAfterMs` (and spends nothing). In memory, per node: with several nodes
 * each enforces its own share (a shared Redis bucket is the planned next step).
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
export interface RateLimiter {
  take(agent: string, tool: string): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 100_000;

export function createRateLimiter(limits: RateLimits, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const level = (key: string, limit: BucketLimit): Bucket => {
    const t = now();
    let bucket = buckets.get(key);
    if (!bucket) {
      if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string);
      bucket = { tokens: limit.burst, at: t };
      buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((t - bucket.at) / 1000) * limit.rate);
    bucket.at = t;
    return bucket;
  };
  return {
    take(agent, tool) {
      const checks: [Bucket, BucketLimit][] = [];
      if (limits.perAgent) checks.push([level(`a\u0000${agent}`, limits.perAgent), limits.perAgent]);
      if (limits.perAgentTool) checks.push([level(`t\u0000${agent}\u0000${tool}`, limits.perAgentTool), limits.perAgentTool]);
      const short = checks.filter(([bucket]) => bucket.tokens < 1);
      if (short.length > 0) {
        const retryAfterMs = Math.max(...short.map(([bucket, limit]) => Math.ceil(((1 - bucket.tokens) / limit.rate) * 1000)));
        throw new WardenError('WARDEN_RATE_LIMITED', 'rate limit exceeded', { details: { retryAfterMs } });
      }
      for (const [bucket] of checks) bucket.tokens -= 1;
    },
  };
}
