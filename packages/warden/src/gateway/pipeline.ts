/**
 * The request pipeline of the MCP gateway, top to bottom as ../shared/ARCHITECTURE.md names it:
 *
 *   authenticate -> limit -> screen(in) -> authorize -> audit(decision) -> forward -> screen(out) -> audit(result) -> observe
 *
 * `authenticate` runs at the HTTP boundary (`api/agent-auth.ts`, 401) and hands over the agent.
 * `limit` takes a token from the agent's and the agent+tool's buckets (WARDEN_RATE_LIMITED).
 * `screen(in)` runs the input detectors over the arguments; their findings go into the policy context
 * (detectors arrive with the screening issue; the list is empty today). `authorize` asks the one
 * decision point whether the agent may call the tool (`mcp:call_tool` on `Warden::Tool::"<name>"`, in
 * `Warden::Server::"<upstream>"`); the authorizer records the decision durably before it returns
 * (`audit(decision)`). A tool the agent may not call answers exactly like one that does not exist.
 * `forward` calls the upstream (Warden's credentials, never the agent's token). `screen(out)` runs the
 * output detectors. `audit(result)` records the outcome, the upstream latency and an HMAC digest of the
 * arguments; its index is the call's receipt. A call whose determining policy is annotated
 * `@approval("required")` is held for a human decision between authorize and forward (`approvals.ts`). `observe` hands the outcome to the watch plane (a hook).
 * `tools/list` shows exactly the tools `authorize` would let the agent call — the same function decides.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEvent } from '../audit/index.js';
import { WardenError, isWardenError } from '../errors/index.js';
import type { Decision } from '../policy/authorizer.js';
import { adminContext } from '../policy/builtin.js';
import type { AuthorizationRequest, AuthorizeOptions, CedarEntity } from '../policy/index.js';
import type { CatalogTool, ToolCatalog } from './catalog.js';
import type { Approvals } from './approvals.js';
import type { RateLimiter } from './rate-limiter.js';

/** The agent on whose behalf a request runs (from the authenticate stage). */
export interface GatewayCaller {
  readonly agent: string;
  readonly source?: { ip?: string; requestId?: string };
}

/** A finding of a detector (the screening issue fills the detector list). */
export interface Finding {
  category: string;
  type: string;
  score: number;
}
/** A screen detector: text in, findings out. */
export type Detector = (text: string, direction: 'input' | 'output') => Finding[];

export interface CallOutcome {
  result: CallToolResult;
  /** The index of the call's result entry in the audit log. */
  auditIndex: number;
}

export interface Pipeline {
  listTools(caller: GatewayCaller): Promise<Tool[]>;
  callTool(caller: GatewayCaller, name: string, args: Record<string, unknown> | undefined): Promise<CallOutcome>;
}

export interface PipelineOptions {
  catalog: ToolCatalog;
  authorize: (request: AuthorizationRequest, options: AuthorizeOptions) => Promise<Decision>;
  audit: { append(event: AuditEvent): Promise<{ index: number }> };
  limiter: RateLimiter;
  /** Human approval: calls whose decision `needsApproval` are held until an admin approves them. */
  approvals?: { store: Pick<Approvals, 'await'>; needsApproval: (decision: Decision) => boolean };
  detectors?: { input: Detector[]; output: Detector[] };
  observe?: (event: { agent: string; tool: string; outcome: 'success' | 'failure'; latencyMs: number }) => void;
  now?: () => number;
}

/** Same answer for a tool that does not exist and one the agent may not see. */
export const unknownTool = (name: string): WardenError => new WardenError('WARDEN_TOOL_NOT_FOUND', `unknown tool: ${name.slice(0, 128)}`);

/** The Cedar entities of a tool: the tool (annotations as attributes) in its server. */
export function toolEntities(tool: CatalogTool): CedarEntity[] {
  const annotations = tool.tool.annotations ?? {};
  return [
    {
      uid: { type: 'Warden::Tool', id: tool.name },
      attrs: { name: tool.name, readOnly: annotations.readOnlyHint === true, destructive: annotations.destructiveHint !== false && annotations.readOnlyHint !== true, sensitivity: 0 },
      parents: [{ type: 'Warden::Server', id: tool.upstream }],
    },
    { uid: { type: 'Warden::Server', id: tool.upstream }, attrs: { name: tool.upstream }, parents: [] },
  ];
}

/** Top-level scalar arguments as the policy's `context.arguments` (a set of {key, value} strings). */
function argumentSet(args: Record<string, unknown> | undefined): { key: string; value: string }[] {
  if (!args) return [];
  return Object.entries(args).flatMap(([key, value]) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? [{ key, value: String(value) }] : [],
  );
}

function screen(detectors: readonly Detector[], text: string, direction: 'input' | 'output'): Finding[] {
  return detectors.flatMap((detect) => detect(text, direction));
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const { catalog, authorize, audit, limiter } = options;
  const now = options.now ?? Date.now;
  const detectors = options.detectors ?? { input: [], output: [] };

  /** The authorize stage: the ONE function deciding both listing and calling. */
  function decide(caller: GatewayCaller, tool: CatalogTool, args: Record<string, unknown> | undefined, findings: Finding[]): Promise<Decision> {
    const context = {
      ...adminContext(now(), caller.source?.ip),
      findings: { categories: [...new Set(findings.map((f) => f.category))], highestScore: Math.max(0, ...findings.map((f) => Math.round(f.score * 100))) },
      arguments: argumentSet(args),
    };
    return authorize(
      { principal: { type: 'Warden::Agent', id: caller.agent }, action: { type: 'Warden::Action', id: 'mcp:call_tool' }, resource: { type: 'Warden::Tool', id: tool.name }, context },
      { extraEntities: toolEntities(tool), ...(caller.source ? { source: caller.source } : {}) },
    );
  }

  return {
    async listTools(caller) {
      const tools = await catalog.tools();
      const visible: Tool[] = [];
      for (const tool of tools) {
        const decision = await decide(caller, tool, undefined, []);
        if (decision.decision === 'allow') visible.push({ ...tool.tool, name: tool.name });
      }
      return visible;
    },

    async callTool(caller, name, args) {
      // limit (a refusal is recorded too)
      try {
        limiter.take(caller.agent, name);
      } catch (err) {
        if (isWardenError(err, 'WARDEN_RATE_LIMITED')) {
          await audit
            .append({ class: 'api_activity', activityId: 99, action: 'mcp.rate_limited', actor: { type: 'agent', id: caller.agent }, ...(caller.source ? { source: caller.source } : {}), resource: { type: 'tool', id: name.slice(0, 128) }, outcome: 'failure' })
            .catch((cause: unknown) => {
              throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'could not record the refusal', { cause });
            });
        }
        throw err;
      }
      const tool = await catalog.find(name);
      if (!tool) throw unknownTool(name);
      // screen(in)
      const input = JSON.stringify(args ?? {});
      const findingsIn = screen(detectors.input, input, 'input');
      // authorize + audit(decision)
      const decision = await decide(caller, tool, args, findingsIn);
      if (decision.decision !== 'allow') throw unknownTool(name);
      // approval (held until an admin decides, single use, bound to agent, tool and argument digest)
      if (options.approvals?.needsApproval(decision)) await options.approvals.store.await({ agent: caller.agent, tool: name, args });
      // forward
      const started = now();
      let result: CallToolResult | undefined;
      let failure: WardenError | undefined;
      try {
        const connection = catalog.connection(tool.upstream);
        if (!connection) throw new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', `upstream ${tool.upstream} is not connected`);
        result = await connection.callTool(tool.tool.name, args);
      } catch (err) {
        failure = isWardenError(err) ? err : new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', 'the upstream call failed', { cause: err });
      }
      const latencyMs = now() - started;
      // screen(out)
      const findingsOut = result ? screen(detectors.output, JSON.stringify(result.content ?? []), 'output') : [];
      // audit(result): fail closed — a result that cannot be recorded is not returned.
      let index: number;
      try {
        ({ index } = await audit.append({
          class: 'api_activity',
          activityId: 99,
          action: 'mcp.call_tool',
          actor: { type: 'agent', id: caller.agent },
          ...(caller.source ? { source: caller.source } : {}),
          resource: { type: 'tool', id: name },
          decision: { id: decision.decisionId, effect: 'allow', policyIds: decision.policies, policySetVersion: String(decision.policySetVersion) },
          outcome: failure || result?.isError ? 'failure' : 'success',
          details: {
            upstream: tool.upstream,
            latencyMs,
            ...(failure ? { error: failure.code } : {}),
            ...(findingsIn.length + findingsOut.length > 0 ? { findings: [...findingsIn, ...findingsOut].map((f) => ({ ...f })) } : {}),
          },
          sensitive: { arguments: input },
        }));
      } catch (err) {
        throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'could not record the tool call', { cause: err });
      }
      // observe
      options.observe?.({ agent: caller.agent, tool: name, outcome: failure ? 'failure' : 'success', latencyMs });
      if (failure) throw failure;
      return { result: result!, auditIndex: index };
    },
  };
}
