/**
 * The built-in policy set: it compiles under the strict schema with stable ids, encodes the admin role
 * matrix (every role × action × collection), records decisions with ids and version `builtin-<n>`,
 * fails closed when the audit log is down, and builds Cedar-parseable contexts from odd addresses.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/index.js';
import { isWardenError } from '../errors/index.js';
import { roleWithin } from '../identity/admins.js';
import type { AdminRole } from '../identity/types.js';
import {
  BUILTIN_POLICY_VERSION,
  builtinPolicyFiles,
  builtinPolicySetVersion,
  cedarIp,
  compileBuiltinPolicies,
  createBuiltinAuthorizer,
  type AdminAction,
  type AdminCollection,
} from './builtin.js';
import { createPolicyEngine } from './engine.js';

const engine = createPolicyEngine();
const actions: readonly AdminAction[] = ['admin:read', 'admin:write', 'admin:authorize', 'admin:self'];
const collections: readonly AdminCollection[] = ['Agents', 'Policies', 'Keys', 'Audit', 'Admins', 'Upstreams', 'Secrets', 'Screen'];

/** The encoded matrix: role -> "action Collection" pairs allowed (everything else denies). */
const allowed: Record<AdminRole, readonly string[]> = {
  admin: [
    ...['Agents', 'Policies', 'Keys', 'Audit', 'Admins', 'Upstreams', 'Secrets', 'Screen'].flatMap((c) => [`admin:read ${c}`, `admin:write ${c}`]),
    'admin:authorize Policies',
    'admin:self Admins',
  ],
  security: ['Agents', 'Policies', 'Keys', 'Upstreams', 'Secrets'].flatMap((c) => [`admin:read ${c}`, `admin:write ${c}`]).concat(['admin:authorize Policies', 'admin:read Admins', 'admin:self Admins', 'admin:read Screen']),
  auditor: ['admin:read Audit', 'admin:read Agents', 'admin:read Policies', 'admin:read Upstreams', 'admin:read Admins', 'admin:self Admins', 'admin:read Screen'],
  pdp: ['admin:authorize Policies'],
};

describe('built-in policies', () => {
  it('compile under the strict schema with stable ids and a version', () => {
    const set = compileBuiltinPolicies(engine);
    expect(set.version).toBe(BUILTIN_POLICY_VERSION);
    expect(builtinPolicySetVersion).toBe(`builtin-${BUILTIN_POLICY_VERSION}`);
    expect([...set.policies.keys()].sort()).toEqual([
      'builtin.admin-all',
      'builtin.admins-list',
      'builtin.auditor-agents',
      'builtin.auditor-audit',
      'builtin.auditor-policies',
      'builtin.auditor-upstreams',
      'builtin.pdp-authorize',
      'builtin.screen',
      'builtin.security-agents',
      'builtin.security-keys',
      'builtin.security-policies',
      'builtin.security-secrets',
      'builtin.security-upstreams',
      'builtin.self-service',
    ]);
    expect(Object.isFrozen(builtinPolicyFiles)).toBe(true);
    expect(builtinPolicyFiles.every((file) => Object.isFrozen(file) && file.name.startsWith('builtin/'))).toBe(true);
  });

  it('encode the admin role matrix', async () => {
    const builtin = createBuiltinAuthorizer({ engine });
    for (const role of ['admin', 'security', 'auditor', 'pdp'] as const) {
      for (const action of actions) {
        for (const collection of collections) {
          const decision = await builtin.authorize({ admin: `${role}-1`, role }, { action, collection });
          const expected = allowed[role].includes(`${action} ${collection}`) ? 'allow' : 'deny';
          expect(decision.decision, `${role} ${action} ${collection}`).toBe(expected);
          if (expected === 'allow') expect(decision.policies.every((id) => id.startsWith('builtin.'))).toBe(true);
        }
      }
    }
  });

  it('deny roles they do not know and requests that name no collection', async () => {
    const builtin = createBuiltinAuthorizer({ engine });
    expect((await builtin.authorize({ admin: 'x', role: 'root' as AdminRole }, { action: 'admin:read', collection: 'Agents' })).decision).toBe('deny');
    const none = await builtin.authorize({ admin: 'x', role: 'admin' }, undefined);
    expect(none).toMatchObject({ decision: 'deny', errors: ['no admin resource for this route'] });
  });

  it('audit each decision before returning it', async () => {
    const events: AuditEvent[] = [];
    const builtin = createBuiltinAuthorizer({ engine, audit: { append: async (e: AuditEvent) => events.push(e) }, now: () => Date.UTC(2026, 0, 5, 9) });
    const decision = await builtin.authorize(
      { admin: 'sam', role: 'security' },
      { action: 'admin:write', collection: 'Agents' },
      { source: { ip: '::ffff:10.0.0.7', requestId: 'req-1' }, route: 'POST /v1/agents' },
    );
    expect(decision).toMatchObject({ decision: 'allow', policies: ['builtin.security-agents'], policySetVersion: 'builtin-3' });
    expect(events).toEqual([
      {
        class: 'api_activity',
        activityId: 99,
        action: 'admin:write',
        actor: { type: 'admin', id: 'sam' },
        resource: { type: 'Warden::Agents', id: 'all' },
        decision: { id: decision.decisionId, effect: 'allow', policyIds: ['builtin.security-agents'], policySetVersion: 'builtin-3' },
        outcome: 'success',
        source: { ip: '::ffff:10.0.0.7', requestId: 'req-1' },
        details: { role: 'security', route: 'POST /v1/agents' },
      },
    ]);
  });

  it('record denied reads of the audit log, but not allowed ones', async () => {
    const events: AuditEvent[] = [];
    const builtin = createBuiltinAuthorizer({ engine, audit: { append: async (e: AuditEvent) => events.push(e) } });
    const read = { action: 'admin:read', collection: 'Audit' } as const;
    expect((await builtin.authorize({ admin: 'ann', role: 'auditor' }, read)).decision).toBe('allow');
    expect((await builtin.authorize({ admin: 'sam', role: 'security' }, read)).decision).toBe('deny');
    expect((await builtin.authorize({ admin: 'ann', role: 'auditor' }, { action: 'admin:write', collection: 'Audit' })).decision).toBe('deny');
    expect(events.map((e) => [e.actor.id, e.action, e.decision?.effect])).toEqual([
      ['sam', 'admin:read', 'deny'],
      ['ann', 'admin:write', 'deny'],
    ]);
  });

  it('throw WARDEN_AUDIT_UNAVAILABLE when the decision cannot be recorded', async () => {
    const builtin = createBuiltinAuthorizer({ engine, audit: { append: () => Promise.reject(new Error('down')) } });
    const failed = await builtin.authorize({ admin: 'a', role: 'admin' }, { action: 'admin:read', collection: 'Agents' }).catch((err: unknown) => err);
    expect(isWardenError(failed, 'WARDEN_AUDIT_UNAVAILABLE')).toBe(true);
  });

  it('pass source addresses Cedar can parse', async () => {
    expect(cedarIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(cedarIp('fe80::1%eth0')).toBe('fe80::1');
    expect(cedarIp(undefined)).toBe('0.0.0.0');
    const builtin = createBuiltinAuthorizer({ engine });
    for (const ip of ['::1', '::ffff:127.0.0.1', '2001:db8::1', '10.1.2.3', 'fe80::1%lo0']) {
      const decision = await builtin.authorize({ admin: 'a', role: 'admin' }, { action: 'admin:read', collection: 'Agents' }, { source: { ip } });
      expect(decision, ip).toMatchObject({ decision: 'allow', errors: [] });
    }
  });

  it('let admin and security (not auditor) mint pdp tokens, and pdp nothing else', () => {
    expect(roleWithin('pdp', 'admin')).toBe(true);
    expect(roleWithin('pdp', 'security')).toBe(true);
    expect(roleWithin('pdp', 'auditor')).toBe(false);
    expect(roleWithin('auditor', 'pdp')).toBe(false);
    expect(roleWithin('pdp', 'pdp')).toBe(true);
  });
});
