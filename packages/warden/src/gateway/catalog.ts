/**
 * The catalog: what the registered upstreams offer, under the names agents see.
 * - Tools as `<server>__<tool>` (letters, digits, `_` and `-`, at most 64 characters — a form OpenAI's and
 *   Anthropic's function-name rules accept; tools whose names do not fit are left out and logged).
 * - Prompts as `<server>__<prompt>` (same rule).
 * - Resources under their own URI and resource templates as the upstream gives them (a URI or template
 *   two upstreams both offer belongs to the first by name; the other's is left out and logged); a URI
 *   no upstream lists belongs to the first upstream with a template that matches it.
 * Connections come from the pool (`connection-pool.ts`). An upstream's lists are re-read when it
 * announces a change, when the registry or a pin changes, or after `refreshMs`; the merged listing and its
 * by-name lookups are rebuilt only then, not per request. An upstream that cannot
 * be listed contributes nothing until it can (the others still answer).
 *
 * Tool pinning (rug-pull defence, `tool-pins.ts`): every tool listing is shown to the pins, and only tools
 * whose current definition is approved are in the catalog — a new tool under `approve-first`, or a
 * tool whose definition changed since it was approved, is neither listed nor callable until an admin
 * approves it. If the pins cannot record what was seen, the upstream contributes nothing (fail closed).
 */
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log/index.js';
import { createConnectionPool } from './connection-pool.js';
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
export interface CatalogPrompt {
  /** `Warden::Prompt::"<name>"`. */
  readonly name: string;
  readonly upstream: string;
  readonly prompt: Prompt;
}
export interface CatalogResource {
  /** The URI agents read and policies use (`Warden::Resource::"<uri>"`). */
  readonly uri: string;
  readonly upstream: string;
  readonly resource?: Resource;
}
export interface CatalogTemplate {
  readonly upstream: string;
  readonly template: ResourceTemplate;
  readonly matcher: UriTemplate;
}

export interface Catalog {
  /** Every tool, in upstream then tool order. */
  tools(): Promise<CatalogTool[]>;
  /** One tool by its exposed name, or undefined. */
  find(name: string): Promise<CatalogTool | undefined>;
  prompts(): Promise<CatalogPrompt[]>;
  findPrompt(name: string): Promise<CatalogPrompt | undefined>;
  resources(): Promise<CatalogResource[]>;
  resourceTemplates(): Promise<CatalogTemplate[]>;
  /** The upstream serving a URI: the one listing it, else the first with a matching template. */
  findResource(uri: string): Promise<CatalogResource | undefined>;
  /** The exposed tool names of the latest listing (for screening: tool names inside tool output are a signal). */
  toolNames(): readonly string[];
  /** The connection for `agent`'s requests to an upstream (its own under per-agent isolation). */
  connection(upstream: string, agent: string): UpstreamConnection | undefined;
  close(): Promise<void>;
}

export interface CatalogOptions {
  upstreams: { list(): Promise<Upstream[]>; onChange(listener: (name: string) => void): () => void };
  connect: (upstream: Upstream) => UpstreamConnection;
  pins: Pick<ToolPins, 'observe' | 'onChange'>;
  logger: Pick<Logger, 'warn'>;
  refreshMs?: number;
  /** Per-agent connections: closed after this long unused, at most this many per upstream. */
  isolation?: { idleMs?: number; maxPerUpstream?: number };
  now?: () => number;
}

interface Listing {
  tools: CatalogTool[];
  prompts: CatalogPrompt[];
  resources: CatalogResource[];
  templates: CatalogTemplate[];
}

/** The merged listing of every upstream with its lookups, and what it was merged from. */
interface Merged {
  readonly upstreams: readonly Upstream[];
  readonly from: readonly Listing[];
  readonly listing: Listing;
  readonly tools: ReadonlyMap<string, CatalogTool>;
  readonly prompts: ReadonlyMap<string, CatalogPrompt>;
  readonly resources: ReadonlyMap<string, CatalogResource>;
}

/** A lookup by key; an item whose key came earlier is the one found (as a search of the list would). */
function firstByKey<T>(items: readonly T[], key: (item: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(key(item))) map.set(key(item), item);
  return map;
}

export function exposedToolName(upstream: string, tool: string): string {
  return `${upstream}${TOOL_SEPARATOR}${tool}`;
}

export function createCatalog({ upstreams, connect, pins, logger, refreshMs = 60_000, isolation = {}, now = Date.now }: CatalogOptions): Catalog {
  /** upstream -> what it offers, when it was read. */
  const listed = new Map<string, { at: number; listing: Promise<Listing> }>();
  const byName = new Map<string, Upstream>();
  let known: { at: number; upstreams: Promise<Upstream[]> } | undefined;
  let names: readonly string[] = [];
  /** Reused while the upstream list and every upstream's listing are the very ones it was merged from. */
  let merged: Merged | undefined;
  const pool = createConnectionPool({ connect, onListChanged: (name) => listed.delete(name), ...isolation, now });

  const unsubscribe = upstreams.onChange((name) => {
    known = undefined;
    listed.delete(name);
    pool.drop(name);
  });
  const unsubscribePins = pins.onChange((name) => listed.delete(name));

  const exposed = (upstream: string, name: string, what: string): string | undefined => {
    const full = exposedToolName(upstream, name);
    if (EXPOSED_NAME.test(full)) return full;
    logger.warn({ upstream, name: name.slice(0, 100) }, `${what} name cannot be exposed; left out`);
    return undefined;
  };

  const read = async (upstream: Upstream): Promise<Listing> => {
    const connection = pool.shared(upstream);
    // Tools are what the gateway is for: an upstream whose prompts or resources cannot be listed still offers its tools.
    const optional = <T>(what: string, list: Promise<T[]>): Promise<T[]> =>
      list.catch((err: unknown) => {
        logger.warn({ upstream: upstream.name, err }, `could not list the ${what} of an upstream`);
        return [];
      });
    const [tools, prompts, resources, templates] = await Promise.all([
      connection.listTools(),
      optional('prompts', connection.listPrompts()),
      optional('resources', connection.listResources()),
      optional('resource templates', connection.listResourceTemplates()),
    ]);
    const statuses = await pins.observe(upstream.name, upstream.toolPolicy, tools);
    const u = upstream.name;
    return {
      tools: tools.flatMap((tool) => {
        const name = exposed(u, tool.name, 'tool');
        return name && statuses.get(name) === 'approved' ? [{ name, upstream: u, tool }] : [];
      }),
      prompts: prompts.flatMap((prompt) => {
        const name = exposed(u, prompt.name, 'prompt');
        return name ? [{ name, upstream: u, prompt }] : [];
      }),
      resources: resources.map((resource) => ({ uri: resource.uri, upstream: u, resource })),
      templates: templates.flatMap((template) => {
        try {
          return [{ upstream: u, template, matcher: new UriTemplate(template.uriTemplate) }];
        } catch {
          logger.warn({ upstream: u, template: template.uriTemplate.slice(0, 100) }, 'resource template cannot be parsed; left out');
          return [];
        }
      }),
    };
  };

  const listingOf = (upstream: Upstream): Promise<Listing> => {
    const hit = listed.get(upstream.name);
    if (hit && now() - hit.at < refreshMs) return hit.listing;
    const entry = { at: now(), listing: read(upstream) };
    listed.set(upstream.name, entry);
    entry.listing.catch((err: unknown) => {
      if (listed.get(upstream.name) === entry) listed.delete(upstream.name);
      logger.warn({ upstream: upstream.name, err }, 'could not list what an upstream offers');
    });
    return entry.listing;
  };

  const empty: Listing = { tools: [], prompts: [], resources: [], templates: [] };
  /**
   * The merged listing. Re-merged only when something it was merged from changed: a re-read upstream list
   * (registry change, `refreshMs`) or an upstream listing re-read (list_changed, pin change, `refreshMs`,
   * an upstream that failed or recovered) is a new object.
   */
  const all = async (): Promise<Merged> => {
    if (!known || now() - known.at >= refreshMs) known = { at: now(), upstreams: upstreams.list() };
    const list = await known.upstreams;
    const per = await Promise.all(list.map((u) => listingOf(u).catch(() => empty)));
    const last = merged;
    if (last && last.upstreams === list && last.from.length === per.length && per.every((l, i) => l === last.from[i])) return last;
    byName.clear();
    for (const upstream of list) byName.set(upstream.name, upstream);
    const firstOnly = <T extends { upstream: string }>(items: T[], key: (item: T) => string): T[] => {
      const seen = new Set<string>();
      return items.filter((item) => {
        if (!seen.has(key(item))) return seen.add(key(item));
        logger.warn({ upstream: item.upstream, uri: key(item).slice(0, 100) }, 'resource URI or template already served by another upstream; left out');
        return false;
      });
    };
    const tools = per.flatMap((l) => l.tools);
    names = tools.map((t) => t.name);
    const listing: Listing = {
      tools,
      prompts: per.flatMap((l) => l.prompts),
      resources: firstOnly(per.flatMap((l) => l.resources), (r) => r.uri),
      templates: firstOnly(per.flatMap((l) => l.templates), (t) => t.template.uriTemplate),
    };
    merged = { upstreams: list, from: per, listing, tools: firstByKey(listing.tools, (t) => t.name), prompts: firstByKey(listing.prompts, (p) => p.name), resources: firstByKey(listing.resources, (r) => r.uri) };
    return merged;
  };

  return {
    tools: async () => (await all()).listing.tools,
    async find(name) {
      if (name.indexOf(TOOL_SEPARATOR) <= 0) return undefined;
      return (await all()).tools.get(name);
    },
    prompts: async () => (await all()).listing.prompts,
    async findPrompt(name) {
      if (name.indexOf(TOOL_SEPARATOR) <= 0) return undefined;
      return (await all()).prompts.get(name);
    },
    resources: async () => (await all()).listing.resources,
    resourceTemplates: async () => (await all()).listing.templates,
    async findResource(uri) {
      const { resources, listing } = await all();
      const listedResource = resources.get(uri);
      if (listedResource) return listedResource;
      const template = listing.templates.find((t) => t.matcher.match(uri) !== null);
      return template ? { uri, upstream: template.upstream } : undefined;
    },
    toolNames: () => names,
    connection(upstream, agent) {
      const known = byName.get(upstream);
      return known ? pool.forAgent(known, agent) : undefined;
    },
    async close() {
      unsubscribe();
      unsubscribePins();
      await pool.close();
    },
  };
}
