/**
 * The tool catalog: every tool of every registered upstream under the name agents see,
 * `<server>__<tool>` (letters, digits, `_` and `-`, at most 64 characters — a form OpenAI's and Anthropic's
 * function-name rules accept; tools whose names do not fit are left out and logged). Connections are
 * made on first use and kept; an upstream's tools are re-read when it announces
 * `notifications/tools/list_changed`, when the registry or a pin changes, or after `refreshMs`. An
 * upstream that cannot be listed contributes no tools until it can (the others still answer).
 *
 * Tool pinning (rug-pull defence, `tool-pins.ts`): every listing is shown to the pins, and only tools
 * whose current definition is approved are in the catalog — a new tool under `approve-first`, or a
 * tool whose definition changed since it was approved, is neither listed nor callable until an admin
 * approves it. If the pins cannot record what was seen, the upstream contributes nothing (fail closed).
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log/index.js';
import type { ToolPins } from './tool-pins.js';
import type { UpstreamConnection } from './upstream-connection.js';
import type { Upstream } from './types.js';

export const TOOL_SEPARATOR = '__';
const EXPOSED_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface CatalogTool {
  /** The name agents see and policies use (`Warden::Tool::"<name>"`). */
  readonly name: string;
  readonly upstream: string;
  /** The tool as the upstream defines it (its own name). */
  readonly tool: Tool;
}

export interface ToolCatalog {
  /** Every tool, in upstream then tool order. */
  tools(): Promise<CatalogTool[]>;
  /** One tool by its exposed name, or undefined. */
  find(name: string): Promise<CatalogTool | undefined>;
  connection(upstream: string): UpstreamConnection | undefined;
  close(): Promise<void>;
}

export interface ToolCatalogOptions {
  upstreams: { list(): Promise<Upstream[]>; onChange(listener: (name: string) => void): () => void };
  connect: (upstream: Upstream) => UpstreamConnection;
  pins: Pick<ToolPins, 'observe' | 'onChange'>;
  logger: Pick<Logger, 'warn'>;
  refreshMs?: number;
  now?: () => number;
}

export function exposedToolName(upstream: string, tool: string): string {
  return `${upstream}${TOOL_SEPARATOR}${tool}`;
}

export function createToolCatalog({ upstreams, connect, pins, logger, refreshMs = 60_000, now = Date.now }: ToolCatalogOptions): ToolCatalog {
  const connections = new Map<string, UpstreamConnection>();
  /** upstream -> its tools, when they were read. */
  const listed = new Map<string, { at: number; tools: Promise<CatalogTool[]> }>();
  let known: { at: number; upstreams: Promise<Upstream[]> } | undefined;

  const unsubscribe = upstreams.onChange((name) => {
    known = undefined;
    listed.delete(name);
    const connection = connections.get(name);
    connections.delete(name);
    void connection?.close();
  });
  const unsubscribePins = pins.onChange((name) => listed.delete(name));

  const connectionFor = (upstream: Upstream): UpstreamConnection => {
    let connection = connections.get(upstream.name);
    if (!connection) {
      connection = connect(upstream);
      connection.onToolsChanged(() => listed.delete(upstream.name));
      connections.set(upstream.name, connection);
    }
    return connection;
  };

  const toolsOf = (upstream: Upstream): Promise<CatalogTool[]> => {
    const hit = listed.get(upstream.name);
    if (hit && now() - hit.at < refreshMs) return hit.tools;
    const tools = connectionFor(upstream)
      .listTools()
      .then(async (list) => {
        const statuses = await pins.observe(upstream.name, upstream.toolPolicy, list);
        return list.flatMap((tool) => {
          const name = exposedToolName(upstream.name, tool.name);
          if (!EXPOSED_NAME.test(name)) {
            logger.warn({ upstream: upstream.name, tool: tool.name.slice(0, 100) }, 'tool name cannot be exposed; left out');
            return [];
          }
          return statuses.get(name) === 'approved' ? [{ name, upstream: upstream.name, tool }] : [];
        });
      });
    const entry = { at: now(), tools };
    listed.set(upstream.name, entry);
    tools.catch((err: unknown) => {
      if (listed.get(upstream.name) === entry) listed.delete(upstream.name);
      logger.warn({ upstream: upstream.name, err }, 'could not list the tools of an upstream');
    });
    return tools;
  };

  const all = async (): Promise<CatalogTool[]> => {
    if (!known || now() - known.at >= refreshMs) known = { at: now(), upstreams: upstreams.list() };
    const list = await known.upstreams;
    const per = await Promise.all(list.map((u) => toolsOf(u).catch(() => [] as CatalogTool[])));
    return per.flat();
  };

  return {
    tools: all,
    async find(name) {
      const at = name.indexOf(TOOL_SEPARATOR);
      if (at <= 0) return undefined;
      return (await all()).find((t) => t.name === name);
    },
    connection: (upstream) => connections.get(upstream),
    async close() {
      unsubscribe();
      unsubscribePins();
      await Promise.all([...connections.values()].map((c) => c.close()));
      connections.clear();
    },
  };
}
