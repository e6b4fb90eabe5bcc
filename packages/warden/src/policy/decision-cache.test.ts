import { describe, expect, it } from 'vitest';
import { createDecisionCache, decisionCacheKey } from './decision-cache.js';
import type { AuthorizationRequest, Evaluation } from './engine.js';

const allow: Evaluation = { decision: 'allow', policies: ['p'], errors: [] };
const request: AuthorizationRequest = {
  principal: { type: 'Warden::Agent', id: 'a' },
  action: { type: 'Warden::Action', id: 'mcp:call_tool' },
  resource: { type: 'Warden::Tool', id: 't' },
  context: { hour: 1 },
};

describe('decision cache', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const cache = createDecisionCache({ maxEntries: 2, ttlMs: 1000, now: () => 0 });
    cache.set('a', allow);
    cache.set('b', allow);
    cache.get('a');
    cache.set('c', allow);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([allow, undefined, allow]);
    expect(cache.size).toBe(2);
  });

  it('expires entries after the TTL and can be disabled', () => {
    let t = 0;
    const cache = createDecisionCache({ maxEntries: 10, ttlMs: 100, now: () => t });
    cache.set('a', allow);
    t = 99;
    expect(cache.get('a')).toEqual(allow);
    t = 250;
    expect(cache.get('a')).toBeUndefined();
    const off = createDecisionCache({ maxEntries: 0, ttlMs: 100, now: () => 0 });
    off.set('a', allow);
    expect(off.get('a')).toBeUndefined();
  });

  it('keeps what the caller stores with an evaluation, frozen and detached from the original', () => {
    const cache = createDecisionCache<Evaluation & { record: { replay: string } }>({ maxEntries: 10, ttlMs: 100, now: () => 0 });
    const stored = { decision: 'allow' as const, policies: ['p'], errors: [], record: { replay: 'r' } };
    cache.set('a', stored);
    stored.policies.push('q');
    const hit = cache.get('a')!;
    expect(hit).toEqual({ decision: 'allow', policies: ['p'], errors: [], record: { replay: 'r' } });
    expect(Object.isFrozen(hit)).toBe(true);
    expect(() => hit.policies.push('x')).toThrow();
  });

  it('keys on set version, entity versions, request and extra entities', () => {
    const base = { setVersion: 1, entityVersions: ['g0', '5:x', 'g0'], request, extraEntities: [] };
    const key = decisionCacheKey(base);
    expect(decisionCacheKey({ ...base })).toBe(key);
    expect(decisionCacheKey({ ...base, setVersion: 2 })).not.toBe(key);
    expect(decisionCacheKey({ ...base, entityVersions: ['g0', '6:x', 'g0'] })).not.toBe(key);
    expect(decisionCacheKey({ ...base, request: { ...request, context: { hour: 2 } } })).not.toBe(key);
    expect(decisionCacheKey({ ...base, extraEntities: [{ uid: { type: 'Warden::Tool', id: 't' }, attrs: {}, parents: [] }] })).not.toBe(key);
  });
});
