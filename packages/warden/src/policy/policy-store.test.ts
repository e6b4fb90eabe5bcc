import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WardenError } from '../errors/index.js';
import { openTestAuditLog, type TestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createPolicyEngine, type CompiledPolicySet, type PolicyDiagnostic, type PolicyEngine, type PolicyFile } from './engine.js';
import { createPolicyStore, type PolicyStore } from './policy-store.js';

/**
 * A stand-in engine (the store does not care about Cedar): each line `permit <id>` is a policy, a line
 * containing `BAD` is a diagnostic at that line.
 */
function fakeEngine(): Pick<PolicyEngine, 'check' | 'compile'> {
  const check = (files: readonly PolicyFile[]) => {
    const policies = new Map<string, string>();
    const diagnostics: PolicyDiagnostic[] = [];
    for (const file of files) {
      file.text.split('\n').forEach((line, i) => {
        if (line.includes('BAD')) diagnostics.push({ file: file.name, line: i + 1, column: line.indexOf('BAD') + 1, message: 'unexpected token' });
        const m = /^permit (\S+)/.exec(line);
        if (m) policies.set(m[1]!, line);
      });
    }
    return diagnostics.length > 0 ? { ok: false as const, diagnostics } : { ok: true as const, policies };
  };
  return {
    check,
    compile(version, files): CompiledPolicySet {
      const result = check(files);
      if (!result.ok) throw new WardenError('WARDEN_POLICY_INVALID', 'invalid', { details: { errors: result.diagnostics } });
      return { version, policies: result.policies, handle: `fake-${version}` };
    },
  };
}

const admin = { actor: { type: 'admin' as const, id: 'alice' } };
const files = (...texts: string[]): PolicyFile[] => texts.map((text, i) => ({ name: `p${i}.cedar`, text }));

describe.each(storeBackends)('policy store on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let store: PolicyStore;

  beforeEach(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
    store = createPolicyStore({ db: opened.store.db, engine: fakeEngine(), audit: audit.log });
  });
  afterEach(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  const auditActions = async () =>
    (await audit.log.entries(0, 100)).map((e) => JSON.parse(e.body!) as { action: string; status: string; details?: Record<string, unknown> });

  it('applies a set as version 1, activates it and records the audit entry first', async () => {
    expect(store.active()).toBeUndefined();
    expect(await store.refresh()).toBeUndefined();
    await expect(store.show()).rejects.toMatchObject({ code: 'WARDEN_NOT_FOUND' });
    expect(await store.history()).toEqual([]);
    const changes: (number | undefined)[] = [];
    store.onChange((set) => changes.push(set?.version));
    expect(await store.apply(files('permit a\npermit b', 'permit c'), { ...admin, comment: 'first' })).toEqual({ version: 1 });
    expect(store.active()?.version).toBe(1);
    expect([...store.active()!.policies.keys()]).toEqual(['a', 'b', 'c']);
    expect(changes).toEqual([1]);
    const [entry] = await auditActions();
    expect(entry).toMatchObject({ action: 'policy.apply', status: 'success', details: { version: 1, files: ['p0.cedar', 'p1.cedar'], policyIds: ['a', 'b', 'c'], comment: 'first' } });

    const shown = await store.show();
    expect(shown).toMatchObject({ version: 1, active: true, createdBy: 'alice', comment: 'first', policyCount: 3 });
    expect(shown.files).toEqual(files('permit a\npermit b', 'permit c'));
  });

  it('rejects an invalid set with file/line diagnostics, writes nothing and keeps the active version', async () => {
    await store.apply(files('permit a'), admin);
    const before = (await auditActions()).length;
    const err = await store.apply(files('permit a', 'permit x\n  BAD'), admin).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WardenError);
    expect(err).toMatchObject({ code: 'WARDEN_POLICY_INVALID', details: { errors: [{ file: 'p1.cedar', line: 2, column: 3, message: 'unexpected token' }] } });
    expect(store.active()?.version).toBe(1);
    expect(await store.history()).toHaveLength(1);
    expect((await auditActions()).length).toBe(before);
    expect((await store.refresh())?.version).toBe(1);
  });

  it('rolls back to an old version, lists history and refuses unknown versions', async () => {
    await store.apply(files('permit a'), admin);
    await store.apply(files('permit a', 'permit b'), { ...admin, comment: 'add b' });
    expect(store.active()?.version).toBe(2);
    expect(await store.rollback(1, { actor: { type: 'admin', id: 'bob' } })).toEqual({ version: 1 });
    expect(store.active()?.version).toBe(1);
    const history = await store.history();
    expect(history.map((h) => [h.version, h.active, h.policyCount, h.comment])).toEqual([
      [2, false, 2, 'add b'],
      [1, true, 1, null],
    ]);
    expect(await auditActions()).toMatchObject([
      { action: 'policy.apply', details: { version: 1 } },
      { action: 'policy.apply', details: { version: 2 } },
      { action: 'policy.rollback', details: { version: 1, from: 2 } },
    ]);
    await expect(store.rollback(7, admin)).rejects.toMatchObject({ code: 'WARDEN_NOT_FOUND' });
    await expect(store.rollback(0, admin)).rejects.toMatchObject({ code: 'WARDEN_VALIDATION_FAILED' });
    await expect(store.show(9)).rejects.toMatchObject({ code: 'WARDEN_NOT_FOUND' });
    expect((await store.show(2)).active).toBe(false);
    // Another node sees the rollback after refresh; the next apply still takes a new number.
    const other = createPolicyStore({ db: opened.store.db, engine: fakeEngine(), audit: audit.log });
    expect((await other.refresh())?.version).toBe(1);
    const seen: (number | undefined)[] = [];
    store.onChange((set) => seen.push(set?.version));
    expect(await other.apply(files('permit z'), admin)).toEqual({ version: 3 });
    expect(store.active()?.version).toBe(1);
    expect((await store.refresh())?.version).toBe(3);
    await store.refresh();
    expect(seen).toEqual([3]);
  });

  it('refuses to apply or roll back when the audit log cannot be written, changing nothing', async () => {
    await store.apply(files('permit a'), admin);
    await store.apply(files('permit b'), admin);
    await audit.log.close();
    await expect(store.apply(files('permit c'), admin)).rejects.toMatchObject({ code: 'WARDEN_AUDIT_UNAVAILABLE' });
    await expect(store.rollback(1, admin)).rejects.toMatchObject({ code: 'WARDEN_AUDIT_UNAVAILABLE' });
    expect(store.active()?.version).toBe(2);
    expect((await store.history()).map((h) => h.version)).toEqual([2, 1]);
    expect((await store.refresh())?.version).toBe(2);
  });

  it('retries with the next version when another node took the number during the audit append', async () => {
    const other = createPolicyStore({ db: opened.store.db, engine: fakeEngine(), audit: audit.log });
    let raced = false;
    const racing = createPolicyStore({
      db: opened.store.db,
      engine: fakeEngine(),
      audit: {
        async append(event) {
          const appended = await audit.log.append(event);
          if (!raced) {
            raced = true;
            await other.apply(files('permit other'), admin);
          }
          return appended;
        },
      },
    });
    expect(await racing.apply(files('permit mine'), admin)).toEqual({ version: 2 });
    expect((await racing.show(1)).policies.has('other')).toBe(true);
    expect((await racing.show(2)).policies.has('mine')).toBe(true);
    expect((await auditActions()).map((e) => [e.action, e.status, e.details?.version])).toEqual([
      ['policy.apply', 'success', 1],
      ['policy.apply', 'success', 1],
      ['policy.apply', 'failure', 1],
      ['policy.apply', 'success', 2],
    ]);
  });

  it('gives concurrent applies from two nodes distinct versions', async () => {
    const nodes = [store, createPolicyStore({ db: opened.store.db, engine: fakeEngine(), audit: audit.log })];
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => nodes[i % 2]!.apply(files(`permit p${i}`), admin)));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await store.history()).map((h) => h.version)).toEqual([6, 5, 4, 3, 2, 1]);
    const applied = (await auditActions()).filter((e) => e.action === 'policy.apply' && e.status === 'success');
    expect(new Set(applied.map((e) => e.details?.version)).size).toBeGreaterThanOrEqual(6);
  });
});

describe.each(storeBackends)('policy store template links on $name', (backend) => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let store: PolicyStore;
  const engine = createPolicyEngine();
  const template = '@id("crm")\npermit(principal == ?principal, action == Warden::Action::"mcp:call_tool", resource in ?resource);';
  const base = { name: 'base.cedar', text: '@id("base")\nforbid(principal, action, resource) when { context.riskScore > 90 };' };
  const bot = { type: 'Warden::Agent', id: 'billing-bot' };
  const crm = { type: 'Warden::Server', id: 'crm' };

  beforeEach(async () => {
    opened = await backend.openMigrated();
    audit = await openTestAuditLog(opened.store);
    store = createPolicyStore({ db: opened.store.db, engine, audit: audit.log });
  });
  afterEach(async () => {
    await audit.log.close();
    await opened.cleanup();
  });

  const actions = async () => (await audit.log.entries(0, 100)).map((e) => JSON.parse(e.body!) as { action: string; details?: Record<string, unknown> });

  it('links, refuses bad links without changing anything, unlinks, rolls back and keeps links across apply', async () => {
    await expect(store.link({ templateId: 'crm', principal: bot, resource: crm }, admin)).rejects.toMatchObject({ code: 'WARDEN_POLICY_INVALID' });
    await store.apply([base, { name: 't.cedar', text: template }], admin);
    expect(await store.link({ templateId: 'crm', principal: bot, resource: crm, id: 'bot-crm' }, admin)).toEqual({ version: 2, id: 'bot-crm' });
    expect(store.active()?.links).toEqual([{ id: 'bot-crm', templateId: 'crm', principal: bot, resource: crm }]);
    expect((await store.show()).links.map((l) => l.id)).toEqual(['bot-crm']);
    expect([...(await store.show()).templates.keys()]).toEqual(['crm']);

    const before = (await actions()).length;
    for (const bad of [
      { templateId: 'nope', principal: bot, resource: crm },
      { templateId: 'crm', principal: { type: 'Warden::Key', id: 'k' }, resource: crm },
      { templateId: 'crm', principal: bot, resource: crm, id: 'bot-crm' },
    ]) {
      await expect(store.link(bad, admin)).rejects.toMatchObject({ code: 'WARDEN_POLICY_INVALID' });
    }
    expect((await actions()).length).toBe(before);
    expect(store.active()?.version).toBe(2);
    expect((await store.history()).length).toBe(2);

    expect(await store.link({ templateId: 'crm', principal: { type: 'Warden::Agent', id: 'ops-bot' }, resource: crm }, admin)).toEqual({ version: 3, id: 'crm.link1' });
    expect(await store.unlink('bot-crm', admin)).toEqual({ version: 4 });
    expect(store.active()?.links?.map((l) => l.id)).toEqual(['crm.link1']);
    await expect(store.unlink('bot-crm', admin)).rejects.toMatchObject({ code: 'WARDEN_NOT_FOUND' });

    await store.rollback(3, admin);
    expect(store.active()?.links?.map((l) => l.id)).toEqual(['bot-crm', 'crm.link1']);

    // apply keeps the links whose template still exists, and drops (and reports) the others.
    expect(await store.apply([base, { name: 't2.cedar', text: template }], admin)).toEqual({ version: 5 });
    expect(store.active()?.links?.map((l) => l.id)).toEqual(['bot-crm', 'crm.link1']);
    expect(await store.apply([base], admin)).toEqual({ version: 6, droppedLinks: ['bot-crm', 'crm.link1'] });
    expect(store.active()?.links).toEqual([]);
    expect((await actions()).map((e) => e.action)).toEqual(['policy.apply', 'policy.link', 'policy.link', 'policy.unlink', 'policy.rollback', 'policy.apply', 'policy.apply']);

    // another node compiles the stored links
    await store.rollback(2, admin);
    const other = createPolicyStore({ db: opened.store.db, engine, audit: audit.log });
    expect((await other.refresh())?.links?.map((l) => l.id)).toEqual(['bot-crm']);
  });
});
