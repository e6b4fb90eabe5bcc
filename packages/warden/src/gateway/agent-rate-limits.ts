/**
 * Agents' own rate limits for the limit stage, answered synchronously from memory: `take` is on the
 * hot path and must not wait for the store. The cache keeps the `rateLimits` of each agent it has
 * been asked about (up to `maxEntries`, oldest dropped first). An agent not seen yet is loaded from the
 * directory in the background — until it arrives, the lookup answers undefined (the config's limits);
 * `prepare(agent)` waits for it instead. A change on this node (`onChange`) reloads the agent at once,
 * and `prepare` waits for the reload; until it lands the lookup keeps answering the previous limits,
 * never the config's. A change made on another node is picked up within `ttlMs`, refreshed in the
 * background while the previous limits keep answering. A failed load keeps what was known (the
 * config's for an agent never loaded) and is retried after `ttlMs`.
 */
import type { AgentDirectory } from '../identity/agents.js';
import type { RateLimitOverrides, RateLimits } from './rate-limiter.js';

export interface AgentRateLimitsOptions {
  readonly agents: Pick<AgentDirectory, 'get' | 'onChange'>;
  /** How long a loaded agent's limits are used before they are refreshed (default 5000 ms). */
  readonly ttlMs?: number;
  /** Most agents kept (default 10000). */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/** The lookup for `createRateLimiter`'s `overrides`, with `prepare`, and `close` to stop listening. */
export interface AgentRateLimits extends RateLimitOverrides {
  prepare(agent: string): Promise<void>;
  close(): void;
}

interface Slot {
  limits: Readonly<RateLimits> | undefined;
  /** Bumped by every change of the agent on this node. */
  version: number;
  /** The version the last finished load (or failed attempt) started at; -1 before any. */
  loaded: number;
  /** When the last load finished. */
  at: number;
  loading: Promise<void> | undefined;
}

const ready = Promise.resolve();

export function createAgentRateLimits({ agents, ttlMs = 5000, maxEntries = 10_000, now = Date.now }: AgentRateLimitsOptions): AgentRateLimits {
  const slots = new Map<string, Slot>();

  const slotOf = (name: string): Slot => {
    let slot = slots.get(name);
    if (slot === undefined) {
      if (slots.size >= maxEntries) slots.delete(slots.keys().next().value as string);
      slot = { limits: undefined, version: 0, loaded: -1, at: 0, loading: undefined };
      slots.set(name, slot);
    }
    return slot;
  };

  /** Loads `name` (joining a load under way); if the agent changed meanwhile, loads it again. */
  const load = (name: string, slot: Slot): Promise<void> => {
    if (slot.loading !== undefined) return slot.loading;
    const version = slot.version;
    const loading = agents
      .get(name)
      .then(
        (agent) => {
          slot.limits = agent?.rateLimits ?? undefined;
        },
        () => {
          // Keep what was known; retried after ttlMs (the store being down is reported elsewhere).
        },
      )
      .then(() => {
        slot.loaded = version;
        slot.at = now();
        slot.loading = undefined;
        if (slot.version !== version && slots.get(name) === slot) return load(name, slot);
        return undefined;
      });
    slot.loading = loading;
    return loading;
  };

  const unsubscribe = agents.onChange((name) => {
    const slot = slots.get(name);
    if (slot === undefined) return;
    slot.version++;
    void load(name, slot);
  });

  const lookup = (agent: string): Readonly<RateLimits> | undefined => {
    const slot = slotOf(agent);
    if (slot.loaded !== slot.version || now() - slot.at >= ttlMs) void load(agent, slot);
    return slot.limits;
  };

  return Object.assign(lookup, {
    prepare(agent: string): Promise<void> {
      const slot = slotOf(agent);
      if (slot.loaded !== slot.version) return load(agent, slot);
      // Expired: refresh in the background and go on with the previous limits.
      if (now() - slot.at >= ttlMs) void load(agent, slot);
      return ready;
    },
    close(): void {
      unsubscribe();
    },
  });
}
