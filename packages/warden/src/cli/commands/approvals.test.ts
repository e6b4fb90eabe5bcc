import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { approvalRoutes } from '../../api/approvals.js';
import type { WardenError } from '../../errors/index.js';
import { createApprovals, type Approvals } from '../../gateway/approvals.js';
import { createLogger } from '../../log/index.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { bearerRequireAdmin, createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { approvalsCommand } from './approvals.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;

const requireAdmin = bearerRequireAdmin({ 'admin-token': 'admin' });

describe('warden approvals (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let approvals: Approvals;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  let run: CliRunner;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    approvals = createApprovals({ db: opened.store.db, audit: audit.log, waitMs: 0, ttlMs: 60_000 });
    app = await buildApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 65_536, routes: [approvalRoutes({ approvals, requireAdmin })] });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-approvals-'));
    run = createCliRunner({ register: approvalsCommand, group: 'approvals', url, home, token: 'admin-token' });
  });
  afterAll(async () => {
    await app.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('lists pending calls, approves and denies them, and refuses bad input with exit 2', async () => {
    const ids: string[] = [];
    for (const repo of ['a', 'b']) {
      await approvals.await({ agent: 'bot', tool: 'gh__delete_repo', args: { repo } }).catch((err: WardenError) => ids.push(String(err.details?.['approvalId'])));
    }
    const listed = await run(['list', '--status', 'pending']);
    expect(listed.code, listed.stderr).toBe(0);
    for (const id of ids) expect(listed.stdout).toContain(id);
    expect((await run(['approve', ids[0]!])).stdout).toContain(`approved ${ids[0]}`);
    expect((await run(['deny', ids[1]!, '--json'])).stdout).toContain('"status": "denied"');
    const again = await run(['approve', ids[0]!]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('WARDEN_CONFLICT');
    expect((await run(['approve', 'not-an-id'])).code).toBe(2);
    expect((await run(['list', '--status', 'maybe'])).code).toBe(2);
  });
});
