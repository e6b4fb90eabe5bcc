/**
 * The decision cache: a bounded LRU of Cedar evaluations (never of audit records — every decision is
 * still audited). The key binds everything an evaluation depends on: the policy-set version, the
 * versions of the entities in the slice, and a digest of the request (principal, action, resource,
 * context) and of caller-supplied entities. A new set, a changed agent or a changed role therefore
 * misses; entries also expire after a TTL as a second line of defence.
 */
import { hash } from 'node:crypto';
import type { AuthorizationRequest, CedarEntity, Evaluation } from './engine.js';

export interface DecisionCacheKeyInput {
  setVersion: number;
  /** Versions of the entities in the slice (principal first, then resource), in a stable order. */
  entityVersions: readonly string[];
  request: AuthorizationRequest;
  extraEntities: readonly CedarEntity[];
}

/** The cache key for one evaluation. */
export function decisionCacheKey(input: DecisionCacheKeyInput): string {
  const { request, extraEntities } = input;
  // One-shot hash: about half the cost of a createHash() object for these short inputs.
  const digest = hash('sha256', JSON.stringify([request.principal, request.action, request.resource, request.context, extraEntities]), 'base64url');
  return `${input.setVersion}|${input.entityVersions.map((v) => v.replaceAll('|', '||')).join('|')}|${digest}`;
}

/** Holds evaluations; `T` may extend them with values derived from the same key (e.g. the audit replay record). */
export interface DecisionCache<T extends Evaluation = Evaluation> {
  get(key: string): T | undefined;
  set(key: string, evaluation: T): void;
  clear(): void;
  readonly size: number;
}

/** A bounded LRU of evaluations; `maxEntries` 0 disables caching. */
export function createDecisionCache<T extends Evaluation = Evaluation>(options: { maxEntries: number; ttlMs: number; now: () => number }): DecisionCache<T> {
  const entries = new Map<string, { evaluation: T; expires: number }>();
  return {
    get(key) {
      const hit = entries.get(key);
      if (!hit) return undefined;
      entries.delete(key);
      if (hit.expires <= options.now()) return undefined;
      entries.set(key, hit);
      return hit.evaluation;
    },
    set(key, evaluation) {
      if (options.maxEntries <= 0) return;
      entries.delete(key);
      const frozen = Object.freeze({ ...evaluation, policies: Object.freeze([...evaluation.policies]), errors: Object.freeze([...evaluation.errors]) });
      entries.set(key, { evaluation: frozen, expires: options.now() + options.ttlMs });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
