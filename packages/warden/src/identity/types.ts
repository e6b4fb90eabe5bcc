/**
 * The identity vocabulary shared by agents, credentials, tokens and admins: what a principal is, what
 * an agent looks like, and the small interfaces each identity module offers the others (so each can be
 * built and tested on its own, and the server wires them together).
 */
import type { JWK } from 'jose';

export type AgentStatus = 'active' | 'disabled' | 'quarantined';

/** One token bucket: refilled at `rate` tokens per second up to `burst` tokens. */
export interface AgentBucketLimit {
  readonly rate: number;
  readonly burst: number;
}

/**
 * An agent's own MCP gateway rate limits; each bucket it leaves out falls back to the config's
 * `gateway.rateLimits` default.
 */
export interface AgentRateLimits {
  /** All of the agent's gateway requests. */
  readonly perAgent?: AgentBucketLimit;
  /** The agent's requests to any one tool (prompt, resource). */
  readonly perAgentTool?: AgentBucketLimit;
}

export interface Agent {
  /** Unique slug; also the OAuth client id. */
  readonly name: string;
  readonly owner: string;
  readonly roles: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly environment: string | null;
  readonly region: string | null;
  /** Data clearance level, 0 (public) .. 4 (restricted). */
  readonly clearance: number;
  readonly status: AgentStatus;
  /** When true, tokens are only issued to and accepted from this agent with DPoP. */
  readonly requireDpop: boolean;
  /** Its own gateway rate limits; null (or absent) when it uses the config's defaults. */
  readonly rateLimits?: AgentRateLimits | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The caller of a data-plane request, established by the authenticate stage. */
export interface AgentPrincipal {
  readonly kind: 'agent';
  readonly agent: string;
  readonly clientId: string;
  /** The token's `jti`. */
  readonly tokenId: string;
  readonly scopes: readonly string[];
  readonly audience: string;
  readonly expiresAt: number;
  /** RFC 9449 JWK thumbprint the token is bound to, if it is a DPoP token. */
  readonly dpopJkt?: string;
}

/**
 * `admin` does everything; `security` manages agents, policies and keys; `auditor` reads the audit log,
 * agents and policies; `pdp` (an enforcement point outside Warden) may only call `POST /v1/authorize`.
 * What each may do is the built-in policy set (policy/builtin.ts).
 */
export type AdminRole = 'admin' | 'security' | 'auditor' | 'pdp';

/** A human (or automation) admin, established from a session or admin token. */
export interface AdminPrincipal {
  readonly kind: 'admin';
  readonly admin: string;
  readonly role: AdminRole;
  readonly sessionId: string;
  readonly expiresAt: number;
}

export type Principal = AgentPrincipal | AdminPrincipal;

/** What the token service needs to know about agents (implemented by the agent directory). */
export interface AgentLookup {
  get(name: string): Promise<Agent | undefined>;
  /** Called with the agent name whenever an agent changes (status, deletion, credentials). */
  onChange(listener: (name: string) => void): () => void;
}

/** How the token endpoint authenticates a client (implemented by the credential store). */
export interface ClientCredentials {
  /** True when `secret` is a current (unrevoked, unexpired) client secret of `clientId`; records last use. */
  verifySecret(clientId: string, secret: string): Promise<boolean>;
  /** The current public keys of `clientId` for private_key_jwt (Ed25519 or P-256 JWKs, with `kid`). */
  publicKeys(clientId: string): Promise<JWK[]>;
}
