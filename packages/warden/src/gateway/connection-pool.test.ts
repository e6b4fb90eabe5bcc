import { describe, expect, it } from 'vitest';
import { createConnectionPool } from './connection-pool.js';
import type { Upstream } from './types.js';
import type { UpstreamConnection } from './upstream-connection.js';

const upstream = (name: string, isolation: Upstream['isolation']): Upstream => ({
  name,
  transport: { kind: 'http', url: 'http://127.0.0.1:1/mcp', headers: {} },
  timeoutMs: 1000,
  restartBackoffMs: 100,
  isolation,
  toolPolicy: 'trust-on-first-use',
  createdAt: 1,
  updatedAt: 1,
});

/** A connection that only records whether it was closed (the pool never calls anything else on it). */
function fakeConnections() {
  const made: { upstream: string; closed: boolean; changed?: () => void }[] = [];
  const connect = (u: Upstream): UpstreamConnection => {
    const record: (typeof made)[number] = { upstream: u.name, closed: false };
    made.push(record);
    return {
      upstream: u,
      onListChanged: (listener: () => void) => (record.changed = listener),
      close: () => {
        record.closed = true;
        return Promise.resolve();
      },
    } as unknown as UpstreamConnection;
  };
  return { made, connect };
}

describe('connection pool', () => {
  it('shares one connection under shared isolation and gives each agent its own under per-agent', () => {
    const { made, connect } = fakeConnections();
    const changed: string[] = [];
    const pool = createConnectionPool({ connect, onListChanged: (n) => changed.push(n) });
    const shared = upstream('s', 'shared');
    const own = upstream('o', 'per-agent');
    expect(pool.forAgent(shared, 'a')).toBe(pool.forAgent(shared, 'b'));
    expect(pool.forAgent(shared, 'a')).toBe(pool.shared(shared));
    const a = pool.forAgent(own, 'a');
    expect(pool.forAgent(own, 'a')).toBe(a);
    expect(pool.forAgent(own, 'b')).not.toBe(a);
    expect(pool.shared(own)).not.toBe(a);
    expect(made.length).toBe(4);
    made[0]!.changed!();
    expect(changed).toEqual(['s']);
  });

  it('closes per-agent connections that sit idle, and the least recently used beyond the cap', () => {
    const { made, connect } = fakeConnections();
    let clock = 0;
    const pool = createConnectionPool({ connect, onListChanged: () => undefined, idleMs: 1000, maxPerUpstream: 2, now: () => clock });
    const own = upstream('o', 'per-agent');
    pool.forAgent(own, 'a');
    clock = 10;
    pool.forAgent(own, 'b');
    clock = 20;
    pool.forAgent(own, 'a'); // a is now the most recently used
    pool.forAgent(own, 'c'); // over the cap: b goes
    expect(made.map((m) => m.closed)).toEqual([false, true, false]);
    clock = 5000;
    pool.forAgent(own, 'd'); // a and c are idle
    expect(made.map((m) => m.closed)).toEqual([true, true, true, false]);
  });

  it('drops every connection of a changed upstream and closes all at the end', async () => {
    const { made, connect } = fakeConnections();
    const pool = createConnectionPool({ connect, onListChanged: () => undefined });
    const own = upstream('o', 'per-agent');
    const first = pool.forAgent(own, 'a');
    pool.shared(own);
    pool.drop('o');
    expect(made.every((m) => m.closed)).toBe(true);
    expect(pool.forAgent(own, 'a')).not.toBe(first);
    await pool.close();
    expect(made.every((m) => m.closed)).toBe(true);
  });
});
