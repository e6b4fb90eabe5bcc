/**
 * Migration 0012: an agent's own MCP gateway rate limits. `agents.rate_limits` is nullable JSON text
 * `{"perAgent"?: {rate, burst}, "perAgentTool"?: {rate, burst}}`, validated by `identity/agents.ts`
 * before it is stored; NULL (every agent created before) means the config's `gateway.rateLimits`.
 */
import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes, StoreKind } from './column-types.js';

export function migration0012AgentRateLimits(_types: ColumnTypes, _kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('agents').addColumn('rate_limits', 'text').execute();
    },
  };
}
