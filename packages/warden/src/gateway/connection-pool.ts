/**
 * The connections to upstreams: one shared connection per upstream (tool discovery, and every call when the
 * upstream's isolation is `shared`), plus, when it is `per-agent`, one connection of each agent's own — a
 * separate stdio process or HTTP session, so one agent's calls never share upstream state with another's.
 * Per-agent connections are opened on first use and closed after `idleMs` without use or when an upstream
 * has more than `maxPerUpstream` of them (the least recently used goes first).
 */
import type { UpstreamConnection } from './upstream-connection.js';
import type { Upstream } from './types.js';

export interface ConnectionPool {
  /** The upstream's shared connection. */
  shared(upstream: Upstream): UpstreamConnection;
  /** The connection for `agent`'s requests: the shared one, or the agent's own under per-agent isolation. */
  forAgent(upstream: Upstream, agent: string): UpstreamConnection;
  /** Closes every connection of an upstream (it changed or was removed). */
  drop(name: string): void;
  close(): Promise<void>;
}

export interface ConnectionPoolOptions {
  connect: (upstream: Upstream) => UpstreamConnection;
  /** Hears the name of an upstream whose shared connection announced a changed list. */
  onListChanged: (name: string) => void;
  idleMs?: number;
  maxPerUpstream?: number;
  now?: () => number;
}

interface Owned {
  connection: UpstreamConnection;
  usedAt: number;
}

export function createConnectionPool({ connect, onListChanged, idleMs = 10 * 60_000, maxPerUpstream = 64, now = Date.now }: ConnectionPoolOptions): ConnectionPool {
  const shared = new Map<string, UpstreamConnection>();
  /** upstream -> agent -> connection, least recently used first. */
  const owned = new Map<string, Map<string, Owned>>();

  const sharedOf = (upstream: Upstream): UpstreamConnection => {
    let connection = shared.get(upstream.name);
    if (!connection) {
      connection = connect(upstream);
      connection.onListChanged(() => onListChanged(upstream.name));
      shared.set(upstream.name, connection);
    }
    return connection;
  };

  const evict = (agents: Map<string, Owned>, t: number): void => {
    for (const [agent, entry] of agents) {
      if (t - entry.usedAt < idleMs && agents.size <= maxPerUpstream) break;
      agents.delete(agent);
      void entry.connection.close();
    }
  };

  return {
    shared: sharedOf,
    forAgent(upstream, agent) {
      if (upstream.isolation !== 'per-agent') return sharedOf(upstream);
      let agents = owned.get(upstream.name);
      if (!agents) owned.set(upstream.name, (agents = new Map<string, Owned>()));
      const t = now();
      const entry = agents.get(agent) ?? { connection: connect(upstream), usedAt: t };
      agents.delete(agent);
      entry.usedAt = t;
      agents.set(agent, entry);
      evict(agents, t);
      return entry.connection;
    },
    drop(name) {
      void shared.get(name)?.close();
      shared.delete(name);
      for (const entry of owned.get(name)?.values() ?? []) void entry.connection.close();
      owned.delete(name);
    },
    async close() {
      const all = [...shared.values(), ...[...owned.values()].flatMap((agents) => [...agents.values()].map((e) => e.connection))];
      shared.clear();
      owned.clear();
      await Promise.all(all.map((c) => c.close()));
    },
  };
}
