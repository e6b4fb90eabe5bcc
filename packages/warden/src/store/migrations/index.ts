/**
 * The migration provider: every migration, in order, from code (no file-system loading, so the same
 * list works from src/ under tsx and from compiled dist/). Names sort in application order; never
 * rename or edit a released migration, add a new one.
 */
import type { Migration, MigrationProvider } from 'kysely';
import { migration0001Initial } from './0001-initial.js';
import { migration0002Audit } from './0002-audit.js';
import { migration0003Agents } from './0003-agents.js';
import { migration0004Tokens } from './0004-tokens.js';
import { migration0005Admins } from './0005-admins.js';
import { migration0006Policies } from './0006-policies.js';
import { migration0007PolicyLinks } from './0007-policy-links.js';
import { migration0008Kms } from './0008-kms.js';
import { migration0009Upstreams } from './0009-upstreams.js';
import { migration0010ToolPins } from './0010-tool-pins.js';
import { migration0011Approvals } from './0011-approvals.js';
import { migration0012AgentRateLimits } from './0012-agent-rate-limits.js';
import { migration0013ScreenTokens } from './0013-screen-tokens.js';
import { columnTypes, type StoreKind } from './column-types.js';

export { columnTypes, type ColumnTypes, type StoreKind } from './column-types.js';

export function createMigrationProvider(kind: StoreKind): MigrationProvider {
  const types = columnTypes(kind);
  return {
    getMigrations(): Promise<Record<string, Migration>> {
      return Promise.resolve({
        '0001-initial': migration0001Initial(types),
        '0002-audit': migration0002Audit(types, kind),
        '0003-agents': migration0003Agents(types, kind),
        '0004-tokens': migration0004Tokens(types, kind),
        '0005-admins': migration0005Admins(types, kind),
        '0006-policies': migration0006Policies(types, kind),
        '0007-policy-links': migration0007PolicyLinks(types, kind),
        '0008-kms': migration0008Kms(types, kind),
        '0009-upstreams': migration0009Upstreams(types, kind),
        '0010-tool-pins': migration0010ToolPins(types, kind),
        '0011-approvals': migration0011Approvals(types, kind),
        '0012-agent-rate-limits': migration0012AgentRateLimits(types, kind),
        '0013-screen-tokens': migration0013ScreenTokens(types, kind),
      });
    },
  };
}
