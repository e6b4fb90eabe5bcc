/**
 * The nouns of the MCP gateway shared by its parts: an upstream (an MCP server Warden forwards to) as
 * registered by an admin. Values in `env` and `headers` may refer to secrets (`secret:NAME` as a whole
 * value, or `{{secret:NAME}}` inside one); they are resolved only when Warden talks upstream.
 */

export type UpstreamTransport =
  | { readonly kind: 'stdio'; readonly command: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>> }
  | { readonly kind: 'http'; readonly url: string; readonly headers: Readonly<Record<string, string>> };

/** `approve-first`: new tools stay hidden until an admin approves them; `trust-on-first-use`: pinned on discovery. */
export type ToolPolicy = 'approve-first' | 'trust-on-first-use';
/** `shared`: one connection for every agent; `per-agent`: one stdio process or session per agent. */
export type Isolation = 'shared' | 'per-agent';

export interface Upstream {
  /** Lower-case name; tools are exposed as `<name>__<tool>`, so a name never contains `__`. */
  readonly name: string;
  readonly transport: UpstreamTransport;
  /** Per-request timeout upstream (ms). */
  readonly timeoutMs: number;
  /** First delay before restarting a crashed stdio upstream (ms); doubles up to 30 s. */
  readonly restartBackoffMs: number;
  readonly isolation: Isolation;
  readonly toolPolicy: ToolPolicy;
  readonly createdAt: number;
  readonly updatedAt: number;
}
