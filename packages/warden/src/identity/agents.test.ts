import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLog } from '../audit/index.js';
import { isWardenError } from '../errors/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAgentDirectory, type AgentDirectory, type ChangeContext, type NewAgent } from './agents.js';

const ctx: ChangeContext = { actor: { type: 'admin', id: 'alice' } };

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isWardenError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

async function auditActions(log: AuditLog): Promise<string[]> {
  const entries = await log.entries(0, 1000);
  return entries.map((e) => (JSON.parse(e.body!) as { action: string }).action);
}

describe.each(storeBackends)('agent directory on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let directory: AgentDirectory;
  const changes: string[] = [];

  beforeAll(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
    directory = createAgentDirectory({ db: opened.store.db, audit: audit.log });
    directory.onChange((name) => changes.push(name));
  });
  afterAll(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  it('creates, reads and audits an agent with defaults', async () => {
    const receipts: number[] = [];
    const agent = await directory.create({ name: 'billing-bot', owner: 'team-billing' }, { ...ctx, receipt: (i) => receipts.push(i) });
    expect(agent).toMatchObject({
      name: 'billing-bot',
      owner: 'team-billing',
      roles: [],
      labels: {},
      environment: null,
      region: null,
      clearance: 0,
      status: 'active',
      requireDpop: false,
    });
    expect(await directory.get('billing-bot')).toEqual(agent);
    expect(receipts).toHaveLength(1);
    expect(changes).toContain('billing-bot');
    const [entry] = await audit.log.entries(receipts[0]!, 1);
    expect(JSON.parse(entry!.body!)).toMatchObject({
      class_uid: 3004,
      activity_id: 1,
      action: 'agent.create',
      actor: { type: 'admin', id: 'alice' },
      resource: { type: 'agent', id: 'billing-bot' },
    });
  });

  it('stores every field and refuses a duplicate name', async () => {
    const agent = await directory.create(
      {
        name: 'search-agent',
        owner: 'bob@example.com',
        roles: ['reader', 'search:query', 'reader'],
        labels: { team: 'search', tier: 'gold' },
        environment: 'prod',
        region: 'eu',
        clearance: 3,
        requireDpop: true,
      },
      ctx,
    );
    expect(agent).toMatchObject({ roles: ['reader', 'search:query'], labels: { team: 'search', tier: 'gold' }, clearance: 3, requireDpop: true });
    expect(await directory.get('search-agent')).toEqual(agent);
    expect(await refusal(directory.create({ name: 'search-agent', owner: 'x' }, ctx))).toBe('WARDEN_CONFLICT');
  });

  it('refuses bad names, labels, roles and clearance', async () => {
    const bad: NewAgent[] = [
      { name: 'A-upper', owner: 'o' },
      { name: '-dash', owner: 'o' },
      { name: 'x', owner: 'o' },
      { name: 'a'.repeat(64), owner: 'o' },
      { name: 'has_underscore', owner: 'o' },
      { name: 'ok-name', owner: '' },
      { name: 'ok-name', owner: 'line\nbreak' },
      { name: 'ok-name', owner: 'o', labels: { 'Bad Key': 'v' } },
      { name: 'ok-name', owner: 'o', labels: { team: '' } },
      { name: 'ok-name', owner: 'o', labels: { team: 'x'.repeat(257) } },
      { name: 'ok-name', owner: 'o', roles: ['Admin!'] },
      { name: 'ok-name', owner: 'o', clearance: 5 },
      { name: 'ok-name', owner: 'o', clearance: 1.5 },
      { name: 'ok-name', owner: 'o', region: 'EU West' },
    ];
    for (const input of bad) expect(await refusal(directory.create(input, ctx)), JSON.stringify(input)).toBe('WARDEN_VALIDATION_FAILED');
    expect(await directory.get('ok-name')).toBeUndefined();
  });

  it('updates, disables, enables and quarantines, firing onChange each time', async () => {
    changes.length = 0;
    const updated = await directory.update('billing-bot', { roles: ['payer'], labels: { team: 'billing' }, region: 'us', clearance: 2, requireDpop: true }, ctx);
    expect(updated).toMatchObject({ roles: ['payer'], labels: { team: 'billing' }, region: 'us', clearance: 2, requireDpop: true, owner: 'team-billing' });
    expect(updated.updatedAt).toBeGreaterThanOrEqual(updated.createdAt);
    expect((await directory.update('billing-bot', { region: null }, ctx)).region).toBeNull();
    expect((await directory.disable('billing-bot', ctx)).status).toBe('disabled');
    expect((await directory.enable('billing-bot', ctx)).status).toBe('active');
    expect((await directory.quarantine('billing-bot', ctx)).status).toBe('quarantined');
    expect(changes).toEqual(['billing-bot', 'billing-bot', 'billing-bot', 'billing-bot', 'billing-bot']);
    expect(await refusal(directory.update('billing-bot', { clearance: -1 }, ctx))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await refusal(directory.update('billing-bot', {}, ctx))).toBe('WARDEN_VALIDATION_FAILED');
    expect(await refusal(directory.update('nobody', { clearance: 1 }, ctx))).toBe('WARDEN_NOT_FOUND');
    expect(await refusal(directory.disable('nobody', ctx))).toBe('WARDEN_NOT_FOUND');
    const actions = await auditActions(audit.log);
    expect(actions).toEqual(expect.arrayContaining(['agent.update', 'agent.disable', 'agent.enable', 'agent.quarantine']));
  });

  it('lists with filters and pages', async () => {
    for (let i = 0; i < 5; i++) {
      await directory.create({ name: `fleet-${i}`, owner: i % 2 === 0 ? 'even' : 'odd', labels: { fleet: 'yes', n: String(i) } }, ctx);
    }
    const all = await directory.list();
    expect(all.agents.map((a) => a.name)).toEqual(['billing-bot', 'fleet-0', 'fleet-1', 'fleet-2', 'fleet-3', 'fleet-4', 'search-agent']);
    expect(all.next).toBeUndefined();
    const first = await directory.list({ limit: 3 });
    expect(first.agents.map((a) => a.name)).toEqual(['billing-bot', 'fleet-0', 'fleet-1']);
    const second = await directory.list({ limit: 3, after: first.next! });
    expect(second.agents.map((a) => a.name)).toEqual(['fleet-2', 'fleet-3', 'fleet-4']);
    expect((await directory.list({ owner: 'even' })).agents.map((a) => a.name)).toEqual(['fleet-0', 'fleet-2', 'fleet-4']);
    expect((await directory.list({ status: 'quarantined' })).agents.map((a) => a.name)).toEqual(['billing-bot']);
    const labelled = await directory.list({ labels: { fleet: 'yes' }, limit: 2 });
    expect(labelled.agents.map((a) => a.name)).toEqual(['fleet-0', 'fleet-1']);
    expect((await directory.list({ labels: { fleet: 'yes' }, after: labelled.next! })).agents).toHaveLength(3);
    expect((await directory.list({ labels: { fleet: 'yes', n: '3' } })).agents.map((a) => a.name)).toEqual(['fleet-3']);
    expect(await refusal(directory.list({ limit: 0 }))).toBe('WARDEN_VALIDATION_FAILED');
  });

  it('deletes an agent', async () => {
    changes.length = 0;
    await directory.delete('fleet-4', ctx);
    expect(await directory.get('fleet-4')).toBeUndefined();
    expect(changes).toEqual(['fleet-4']);
    expect(await refusal(directory.delete('fleet-4', ctx))).toBe('WARDEN_NOT_FOUND');
    expect(await auditActions(audit.log)).toContain('agent.delete');
  });

  it('refuses every change and changes nothing when the audit log cannot be written', async () => {
    const failing = createAgentDirectory({
      db: opened.store.db,
      audit: { append: () => Promise.reject(new Error('disk full')) },
    });
    const before = await directory.get('fleet-3');
    expect(await refusal(failing.create({ name: 'never-made', owner: 'o' }, ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await refusal(failing.disable('fleet-3', ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await refusal(failing.update('fleet-3', { clearance: 4 }, ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await refusal(failing.delete('fleet-3', ctx))).toBe('WARDEN_AUDIT_UNAVAILABLE');
    expect(await directory.get('never-made')).toBeUndefined();
    expect(await directory.get('fleet-3')).toEqual(before);
  });

  it('stores, returns, audits, changes and clears an agent\'s own rate limits', async () => {
    const receipts: number[] = [];
    const rateLimits = { perAgent: { rate: 0.5, burst: 2 }, perAgentTool: { rate: 100_000, burst: 100_000 } };
    const created = await directory.create({ name: 'limited-bot', owner: 'o', rateLimits }, { ...ctx, receipt: (i) => receipts.push(i) });
    expect(created.rateLimits).toEqual(rateLimits);
    expect(await directory.get('limited-bot')).toEqual(created);
    const [createdEntry] = await audit.log.entries(receipts[0]!, 1);
    expect(JSON.parse(createdEntry!.body!)).toMatchObject({ action: 'agent.create', details: { rate_limits: JSON.stringify(rateLimits) } });
    expect((await directory.get('fleet-3'))!.rateLimits).toBeNull();

    changes.length = 0;
    const updated = await directory.update('limited-bot', { rateLimits: { perAgentTool: { rate: 3, burst: 6 } } }, { ...ctx, receipt: (i) => receipts.push(i) });
    expect(updated.rateLimits).toEqual({ perAgentTool: { rate: 3, burst: 6 } });
    expect(changes).toEqual(['limited-bot']);
    const [updatedEntry] = await audit.log.entries(receipts[1]!, 1);
    expect(JSON.parse(updatedEntry!.body!)).toMatchObject({ action: 'agent.update', details: { rate_limits: '{"perAgentTool":{"rate":3,"burst":6}}' } });
    expect((await directory.update('limited-bot', { clearance: 1 }, ctx)).rateLimits).toEqual({ perAgentTool: { rate: 3, burst: 6 } });

    expect((await directory.update('limited-bot', { rateLimits: null }, ctx)).rateLimits).toBeNull();
    expect((await directory.get('limited-bot'))!.rateLimits).toBeNull();
    expect((await directory.update('limited-bot', { rateLimits: {} }, ctx)).rateLimits).toBeNull();
  });

  it('refuses bad rate limits and changes nothing', async () => {
    await directory.update('limited-bot', { rateLimits: { perAgent: { rate: 5, burst: 10 } } }, ctx);
    const before = await directory.get('limited-bot');
    const entries = (await auditActions(audit.log)).length;
    const bad: unknown[] = [
      { perAgent: { rate: 0, burst: 1 } },
      { perAgent: { rate: -1, burst: 1 } },
      { perAgent: { rate: 100_000.5, burst: 1 } },
      { perAgent: { rate: Number.NaN, burst: 1 } },
      { perAgent: { rate: Number.POSITIVE_INFINITY, burst: 1 } },
      { perAgent: { rate: '5', burst: 10 } },
      { perAgent: { rate: 5, burst: 0 } },
      { perAgent: { rate: 5, burst: 1.5 } },
      { perAgent: { rate: 5, burst: 100_001 } },
      { perAgent: { rate: 5 } },
      { perAgent: { burst: 5 } },
      { perAgent: { rate: 5, burst: 10, extra: 1 } },
      { perAgentTool: null },
      { perAgentTool: [5, 10] },
      { perServer: { rate: 5, burst: 10 } },
      { perAgent: { rate: 5, burst: 10 }, perAgentTool: { rate: 5, burst: -10 } },
      'fast',
      [],
    ];
    for (const rateLimits of bad) {
      const input = { rateLimits } as unknown as NewAgent;
      expect(await refusal(directory.update('limited-bot', input, ctx)), JSON.stringify(rateLimits)).toBe('WARDEN_VALIDATION_FAILED');
      expect(await refusal(directory.create({ ...input, name: 'never-limited', owner: 'o' }, ctx)), JSON.stringify(rateLimits)).toBe('WARDEN_VALIDATION_FAILED');
    }
    expect(await directory.get('limited-bot')).toEqual(before);
    expect(await directory.get('never-limited')).toBeUndefined();
    expect(await auditActions(audit.log)).toHaveLength(entries);
  });
});
