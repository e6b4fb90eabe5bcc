/**
 * Tests of the agents' rate-limit cache: a synchronous lookup that loads unseen agents in the
 * background, `prepare` waiting for them, reloads on `onChange` (keeping the previous limits meanwhile),
 * refresh after the TTL, failed loads, eviction — and, end to end with the real directory on SQLite,
 * the limiter following an admin's change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../errors/index.js';
import { createAgentDirectory, type AgentDirectory } from '../identity/agents.js';
import type { Agent, AgentRateLimits } from '../identity/types.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAgentRateLimits } from './agent-rate-limits.js';
import { createRateLimiter } from './rate-limiter.js';

const agent = (name: string, rateLimits: AgentRateLimits | null): Agent => ({
  name,
  owner: 'o',
  roles: [],
  labels: {},
  environment: null,
  region: null,
  clearance: 0,
  status: 'active',
  requireDpop: false,
  rateLimits,
  createdAt: 1,
  updatedAt: 1,
});

/** A directory whose loads the test releases one by one. */
function fakeDirectory() {
  const limits = new Map<string, AgentRateLimits | null>();
  const listeners = new Set<(name: string) => void>();
  const pending: { name: string; release: () => void; fail: () => void }[] = [];
  const directory = {
    get(name: string) {
      return new Promise<Agent | undefined>((resolve, reject) => {
        pending.push({
          name,
          release: () => resolve(limits.has(name) ? agent(name, limits.get(name)!) : undefined),
          fail: () => reject(new Error('store down')),
        });
      });
    },
    onChange(listener: (name: string) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return {
    directory,
    limits,
    pending,
    listeners,
    change: (name: string) => listeners.forEach((l) => l(name)),
    /** Releases every load waiting now and lets their callbacks run. */
    async releaseAll() {
      for (const load of pending.splice(0)) load.release();
      await settle();
    },
    async failAll() {
      for (const load of pending.splice(0)) load.fail();
      await settle();
    },
  };
}

describe('agent rate limits cache', () => {
  const own = { perAgent: { rate: 1, burst: 2 } };

  it('answers undefined for an unseen agent while it loads, then its limits, with one load', async () => {
    const fake = fakeDirectory();
    fake.limits.set('bot', own);
    const lookup = createAgentRateLimits({ agents: fake.directory });
    expect(lookup('bot')).toBeUndefined();
    expect(lookup('bot')).toBeUndefined();
    expect(fake.pending.map((p) => p.name)).toEqual(['bot']);
    await fake.releaseAll();
    expect(lookup('bot')).toEqual(own);
    expect(fake.pending).toHaveLength(0);
    expect(lookup('ghost')).toBeUndefined();
    await fake.releaseAll();
    expect(lookup('ghost')).toBeUndefined();
    expect(fake.pending).toHaveLength(0); // a missing agent is remembered too
  });

  it('prepare waits for the first load, then resolves at once from memory', async () => {
    const fake = fakeDirectory();
    fake.limits.set('bot', own);
    const lookup = createAgentRateLimits({ agents: fake.directory });
    let prepared = false;
    const preparing = lookup.prepare('bot').then(() => (prepared = true));
    await Promise.resolve();
    expect(prepared).toBe(false);
    await fake.releaseAll();
    await preparing;
    expect(lookup('bot')).toEqual(own);
    await lookup.prepare('bot');
    expect(fake.pending).toHaveLength(0);
  });

  it('reloads on onChange, keeping the previous limits until the new ones arrive; prepare waits for them', async () => {
    const fake = fakeDirectory();
    fake.limits.set('bot', own);
    const lookup = createAgentRateLimits({ agents: fake.directory });
    lookup('bot');
    await fake.releaseAll();
    fake.change('other'); // not cached: nothing to do
    expect(fake.pending).toHaveLength(0);

    const changed = { perAgentTool: { rate: 5, burst: 5 } };
    fake.limits.set('bot', changed);
    fake.change('bot');
    expect(fake.pending.map((p) => p.name)).toEqual(['bot']);
    expect(lookup('bot')).toEqual(own);
    let prepared = false;
    const preparing = lookup.prepare('bot').then(() => (prepared = true));
    await Promise.resolve();
    expect(prepared).toBe(false);
    await fake.releaseAll();
    await preparing;
    expect(lookup('bot')).toEqual(changed);

    fake.limits.set('bot', null);
    fake.change('bot');
    await fake.releaseAll();
    expect(lookup('bot')).toBeUndefined();
  });

  it('loads again when the agent changes while a load is under way', async () => {
    const fake = fakeDirectory();
    fake.limits.set('bot', own);
    const lookup = createAgentRateLimits({ agents: fake.directory });
    let prepared = false;
    const preparing = lookup.prepare('bot').then(() => (prepared = true)); // load 1 reads `own`
    fake.change('bot'); // the agent changes while load 1 is under way
    expect(fake.pending).toHaveLength(1); // joined load 1
    await fake.releaseAll(); // load 1 answers the old limits...
    expect(fake.pending.map((p) => p.name)).toEqual(['bot']); // ...so load 2 starts
    expect(prepared).toBe(false);
    const changed = { perAgent: { rate: 9, burst: 9 } };
    fake.limits.set('bot', changed);
    await fake.releaseAll();
    await preparing;
    expect(lookup('bot')).toEqual(changed);
  });

  it('refreshes in the background after the TTL, answering the previous limits meanwhile', async () => {
    let t = 0;
    const fake = fakeDirectory();
    fake.limits.set('bot', own);
    const lookup = createAgentRateLimits({ agents: fake.directory, ttlMs: 1000, now: () => t });
    await Promise.all([lookup.prepare('bot'), fake.releaseAll()]);
    t = 999;
    expect(lookup('bot')).toEqual(own);
    await lookup.prepare('bot');
    expect(fake.pending).toHaveLength(0);
    t = 1000;
    const changed = { perAgent: { rate: 3, burst: 3 } };
    fake.limits.set('bot', changed); // changed on another node: no onChange here
    await lookup.prepare('bot'); // does not wait for the refresh
    expect(lookup('bot')).toEqual(own);
    expect(fake.pending).toHaveLength(1);
    await fake.releaseAll();
    expect(lookup('bot')).toEqual(changed);
  });

  it('keeps what it knew when a load fails, and retries after the TTL', async () => {
    let t = 0;
    const fake = fakeDirectory();
    fake.limits.set('bot', own);
    const lookup = createAgentRateLimits({ agents: fake.directory, ttlMs: 1000, now: () => t });
    const preparing = lookup.prepare('bot');
    await fake.failAll();
    await expect(preparing).resolves.toBeUndefined();
    expect(lookup('bot')).toBeUndefined(); // the config's
    expect(fake.pending).toHaveLength(0); // not retried on every call
    t = 1000;
    lookup('bot');
    await fake.releaseAll();
    expect(lookup('bot')).toEqual(own);
    t = 2000;
    lookup('bot');
    await fake.failAll();
    expect(lookup('bot')).toEqual(own);
  });

  it('keeps at most maxEntries agents and stops listening on close', async () => {
    const fake = fakeDirectory();
    for (const name of ['a1', 'a2', 'a3']) fake.limits.set(name, own);
    const lookup = createAgentRateLimits({ agents: fake.directory, maxEntries: 2 });
    for (const name of ['a1', 'a2', 'a3']) lookup(name);
    await fake.releaseAll();
    expect(lookup('a3')).toEqual(own);
    expect(lookup('a2')).toEqual(own);
    expect(fake.pending).toHaveLength(0);
    expect(lookup('a1')).toBeUndefined(); // dropped, loading again
    expect(fake.pending.map((p) => p.name)).toEqual(['a1']);
    expect(fake.listeners.size).toBe(1);
    lookup.close();
    expect(fake.listeners.size).toBe(0);
  });
});

describe('rate limiter over the agent directory (SQLite)', () => {
  const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
  const ctx = { actor: { type: 'admin' as const, id: 'alice' } };
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let directory: AgentDirectory;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    directory = createAgentDirectory({ db: opened.store.db, audit: audit.log });
  });
  afterAll(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  const refused = (take: () => void): boolean => {
    try {
      take();
      return false;
    } catch (err) {
      if (isWardenError(err, 'WARDEN_RATE_LIMITED')) return true;
      throw err;
    }
  };

  it("uses the agent's own limits once prepared, and an admin's change on the next call", async () => {
    const t = 0;
    await directory.create({ name: 'strict-bot', owner: 'o', rateLimits: { perAgent: { rate: 1, burst: 2 } } }, ctx);
    await directory.create({ name: 'plain-bot', owner: 'o' }, ctx);
    const cache = createAgentRateLimits({ agents: directory });
    const limiter = createRateLimiter({ perAgent: { rate: 1, burst: 5 }, perAgentTool: { rate: 1, burst: 100 } }, () => t, cache);
    const takes = async (agent: string, n: number) => {
      const results: boolean[] = [];
      for (let i = 0; i < n; i++) {
        await limiter.prepare(agent);
        results.push(refused(() => limiter.take(agent, 'crm__search')));
      }
      return results;
    };
    expect(await takes('strict-bot', 3)).toEqual([false, false, true]);
    expect(await takes('plain-bot', 6)).toEqual([false, false, false, false, false, true]);

    await directory.update('strict-bot', { rateLimits: { perAgent: { rate: 1, burst: 4 } } }, ctx);
    expect(await takes('strict-bot', 1)).toEqual([true]); // the same bucket: a larger burst refills, it does not appear
    await directory.update('plain-bot', { rateLimits: { perAgentTool: { rate: 1, burst: 1 } } }, ctx);
    expect(await takes('plain-bot', 1)).toEqual([true]); // still the config's perAgent bucket, empty
    await directory.update('strict-bot', { rateLimits: null }, ctx);
    await limiter.prepare('strict-bot');
    expect(cache('strict-bot')).toBeUndefined();
    cache.close();
  });
});
