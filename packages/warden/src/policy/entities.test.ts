import { describe, expect, it } from 'vitest';
import type { Agent, AgentLookup } from '../identity/types.js';
import { agentEntityProvider } from './entities.js';

const agent: Agent = {
  name: 'billing-bot',
  owner: 'ana',
  roles: ['billing', 'reader'],
  labels: { team: 'billing' },
  environment: null,
  region: 'eu-west-1',
  clearance: 2,
  status: 'active',
  requireDpop: false,
  createdAt: 1,
  updatedAt: 7,
};
const lookup = (a: Agent | undefined): AgentLookup => ({ get: () => Promise.resolve(a), onChange: () => () => undefined });

describe('agent entity provider', () => {
  it('maps an agent to Warden::Agent with tags, roles as parents and a version', async () => {
    const slice = await agentEntityProvider(lookup(agent)).get('billing-bot');
    expect(slice?.entity).toEqual({
      uid: { type: 'Warden::Agent', id: 'billing-bot' },
      attrs: { owner: 'ana', clearance: 2, riskScore: 0, status: 'active', region: 'eu-west-1' },
      parents: [
        { type: 'Warden::Role', id: 'billing' },
        { type: 'Warden::Role', id: 'reader' },
      ],
      tags: { team: 'billing' },
    });
    expect(slice?.ancestors.map((e) => e.uid.id)).toEqual(['billing', 'reader']);
    expect(slice?.version).toMatch(/^7:/);
  });

  it('changes the version when roles change without a new updatedAt, and returns undefined for unknown agents', async () => {
    const before = await agentEntityProvider(lookup(agent)).get('billing-bot');
    const after = await agentEntityProvider(lookup({ ...agent, roles: ['billing'] })).get('billing-bot');
    expect(after?.version).not.toBe(before?.version);
    expect(await agentEntityProvider(lookup(undefined)).get('ghost')).toBeUndefined();
  });
});

describe('agent entity provider cache', () => {
  it('reuses a resolved agent within the TTL, drops it on a change at once, and re-reads after the TTL', async () => {
    let current: Agent = agent;
    let reads = 0;
    const listeners: ((name: string) => void)[] = [];
    const source: AgentLookup = {
      get: () => (reads++, Promise.resolve(current)),
      onChange: (l) => (listeners.push(l), () => undefined),
    };
    let clock = 0;
    const provider = agentEntityProvider(source, { cacheTtlMs: 1000, now: () => clock });
    await provider.get('billing-bot');
    await provider.get('billing-bot');
    expect(reads).toBe(1);
    current = { ...agent, clearance: 4, updatedAt: 8 };
    listeners.forEach((l) => l('billing-bot'));
    expect((await provider.get('billing-bot'))?.entity.attrs['clearance']).toBe(4);
    expect(reads).toBe(2);
    current = { ...agent, status: 'quarantined', updatedAt: 9 };
    clock = 999;
    expect((await provider.get('billing-bot'))?.entity.attrs['status']).toBe('active');
    clock = 1001;
    expect((await provider.get('billing-bot'))?.entity.attrs['status']).toBe('quarantined');
    expect(reads).toBe(3);
  });
});
