/**
 * The request pipeline of the MCP gateway, top to bottom as ../shared/ARCHITECTURE.md names it:
 *
 *   authenticate -> limit -> screen(in) -> authorize -> audit(decision) -> forward -> screen(out) -> audit(result) -> observe
 *
 * `authenticate` runs at the HTTP boundary (`api/agent-auth.ts`, 401) and hands over the agent.
 * `limit` takes a token from the agent's and the agent+tool's buckets (WARDEN_RATE_LIMITED).
 * `screen(in)` screens the string arguments (`screen/content.ts`: prompt injection, secrets, PII); the
 * findings go into the policy context, and the configured actions apply: redact or tokenize what is
 * forwarded, block the call (WARDEN_SCREEN_BLOCKED, after the decision is recorded) or hand it to human
 * approval; content over the size limit is refused (WARDEN_SCREEN_TOO_LARGE). `authorize` asks the one
 * decision point whether the agent may call the tool (`mcp:call_tool` on `Warden::Tool::"<name>"`, in
 * `Warden::Server::"<upstream>"`); the authorizer records the decision durably before it returns
 * (`audit(decision)`) — except for a tool whose approved definition is annotated `readOnlyHint: true`, whose
 * call is forwarded while its decision entry is written and whose result is released only once both its
 * decision and result entries are durable (either failing: WARDEN_AUDIT_UNAVAILABLE, nothing released).
 * A tool the agent may not call answers exactly like one that does not exist.
 * `forward` calls the upstream (Warden's credentials, never the agent's token). `screen(out)` screens the
 * result the same way (per-tool output filters first; `mark` wraps tool output as data; a blocked result is
 * withheld). `audit(result)` records the outcome, the upstream latency, the findings (type, place and
 * score, never the text) and an HMAC digest of the arguments; its index is the call's receipt. A call whose determining policy is annotated
 * `@approval("required")` is held for a human decision between authorize and forward (`approvals.ts`). `observe` hands the outcome to the watch plane (a hook).
 * `tools/list` shows exactly the tools `authorize` would let the agent call — the same function decides,
 * one durable decision entry per tool, all decided at once so the entries share group commits.
 *
 * Prompts (`prompts/get`, action `mcp:get_prompt` on `Warden::Prompt::"<server>__<prompt>"`) and resources
 * (`resources/read`, `mcp:read_resource` on `Warden::Resource::"<uri>"`, both in their `Warden::Server`) go
 * through the same stages (without human approval, which is bound to tool calls), and their lists are
 * filtered by the same decision. A resource template is listed when the agent may read a resource whose id
 * is the template itself (`resource in Warden::Server::"docs"` covers both).
 */
import type { CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEvent } from '../audit/index.js';
import { WardenError, isWardenError } from '../errors/index.js';
import type { Decision } from '../policy/authorizer.js';
import { adminContext } from '../policy/builtin.js';
import type { AuthorizationRequest, AuthorizeOptions, CedarEntity } from '../policy/index.js';
import type { Catalog, CatalogTool } from './catalog.js';
import type { Approvals } from './approvals.js';
import type { RateLimiter } from './rate-limiter.js';
import type { UpstreamConnection } from './upstream-connection.js';
import type { ContentFinding, ContentScreen, Screened } from '../screen/content.js';

/** The agent on whose behalf a request runs (from the authenticate stage). */
export interface GatewayCaller {
  readonly agent: string;
  readonly source?: { ip?: string; requestId?: string };
}


export interface CallOutcome<R = CallToolResult> {
  result: R;
  /** The index of the request's result entry in the audit log. */
  auditIndex: number;
}

export interface Pipeline {
  listTools(caller: GatewayCaller): Promise<Tool[]>;
  callTool(caller: GatewayCaller, name: string, args: Record<string, unknown> | undefined): Promise<CallOutcome>;
  listPrompts(caller: GatewayCaller): Promise<Prompt[]>;
  getPrompt(caller: GatewayCaller, name: string, args: Record<string, string> | undefined): Promise<CallOutcome<GetPromptResult>>;
  listResources(caller: GatewayCaller): Promise<Resource[]>;
  listResourceTemplates(caller: GatewayCaller): Promise<ResourceTemplate[]>;
  readResource(caller: GatewayCaller, uri: string): Promise<CallOutcome<ReadResourceResult>>;
}

export interface PipelineOptions {
  catalog: Catalog;
  authorize: (request: AuthorizationRequest, options: AuthorizeOptions) => Promise<Decision>;
  audit: { append(event: AuditEvent): Promise<{ index: number }> };
  limiter: RateLimiter;
  /** Human approval: calls whose decision `needsApproval` are held until an admin approves them. */
  approvals?: { store: Pick<Approvals, 'await'>; needsApproval: (decision: Decision) => boolean };
  /** The screen stages (`screen/content.ts`); without one nothing is screened. */
  screen?: ContentScreen;
  observe?: (event: { agent: string; tool: string; outcome: 'success' | 'failure'; latencyMs: number }) => void;
  now?: () => number;
}

/** Same answer for a tool that does not exist and one the agent may not see. */
export const unknownTool = (name: string): WardenError => new WardenError('WARDEN_TOOL_NOT_FOUND', `unknown tool: ${name.slice(0, 128)}`);
const unknownPrompt = (name: string): WardenError => new WardenError('WARDEN_PROMPT_NOT_FOUND', `unknown prompt: ${name.slice(0, 128)}`);
const unknownResource = (uri: string): WardenError => new WardenError('WARDEN_RESOURCE_NOT_FOUND', `unknown resource: ${uri.slice(0, 256)}`);

/** The Cedar entities of a tool: the tool (annotations as attributes) in its server. */
export function toolEntities(tool: CatalogTool): CedarEntity[] {
  const annotations = tool.tool.annotations ?? {};
  return [
    {
      uid: { type: 'Warden::Tool', id: tool.name },
      attrs: { name: tool.name, readOnly: annotations.readOnlyHint === true, destructive: annotations.destructiveHint !== false && annotations.readOnlyHint !== true, sensitivity: 0 },
      parents: [{ type: 'Warden::Server', id: tool.upstream }],
    },
    serverEntity(tool.upstream),
  ];
}
const serverEntity = (upstream: string): CedarEntity => ({ uid: { type: 'Warden::Server', id: upstream }, attrs: { name: upstream }, parents: [] });

/** What a request acts on: its policy action and entity, and the upstream serving it. */
interface Target {
  readonly action: 'mcp:call_tool' | 'mcp:get_prompt' | 'mcp:read_resource';
  readonly kind: 'tool' | 'prompt' | 'resource';
  /** The entity id (exposed tool or prompt name, resource URI). */
  readonly id: string;
  readonly upstream: string;
  readonly entities: CedarEntity[];
  /** A tool whose approved definition is annotated `readOnlyHint: true` (prompts and resources: false). */
  readonly readOnly: boolean;
}

const toolTarget = (tool: CatalogTool): Target => ({
  action: 'mcp:call_tool',
  kind: 'tool',
  id: tool.name,
  upstream: tool.upstream,
  entities: toolEntities(tool),
  readOnly: tool.tool.annotations?.readOnlyHint === true,
});
const promptTarget = (name: string, upstream: string): Target => ({
  action: 'mcp:get_prompt',
  kind: 'prompt',
  id: name,
  upstream,
  entities: [{ uid: { type: 'Warden::Prompt', id: name }, attrs: { name }, parents: [{ type: 'Warden::Server', id: upstream }] }, serverEntity(upstream)],
  readOnly: false,
});
const resourceTarget = (uri: string, upstream: string): Target => ({
  action: 'mcp:read_resource',
  kind: 'resource',
  id: uri,
  upstream,
  entities: [{ uid: { type: 'Warden::Resource', id: uri }, attrs: { uri }, parents: [{ type: 'Warden::Server', id: upstream }] }, serverEntity(upstream)],
  readOnly: false,
});

/** Top-level scalar arguments as the policy's `context.arguments` (a set of {key, value} strings). */
function argumentSet(args: Record<string, unknown> | undefined): { key: string; value: string }[] {
  if (!args) return [];
  return Object.entries(args).flatMap(([key, value]) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? [{ key, value: String(value) }] : [],
  );
}

const unscreened = <T>(value: T): Screened<T> => ({ value, findings: [], outcome: 'allow' });

/** Findings as they may leave Warden (in an error or the audit log): where and what, never the text. */
const findingSummary = (findings: readonly ContentFinding[]) => findings.slice(0, 100).map(({ category, type, path, start, end, score }) => ({ category, type, path, start, end, score }));
const screenBlocked = (direction: 'arguments' | 'result', findings: readonly ContentFinding[]): WardenError =>
  new WardenError('WARDEN_SCREEN_BLOCKED', `screening withheld the ${direction}: ${[...new Set(findings.map((f) => f.type))].join(', ').slice(0, 200)}`, { details: { findings: findingSummary(findings) } });

export function createPipeline(options: PipelineOptions): Pipeline {
  const { catalog, authorize, audit, limiter } = options;
  const now = options.now ?? Date.now;
  const screen = options.screen;

  /**
   * The authorize stage: the ONE function deciding both listing and requesting. With `record: 'deferred'`
   * the decision's audit entry is still being written when it returns (`Decision.recorded`).
   */
  function decide(
    caller: GatewayCaller,
    target: Target,
    args: Record<string, unknown> | undefined,
    findings: readonly ContentFinding[],
    record: 'durable' | 'deferred' = 'durable',
  ): Promise<Decision> {
    const context = {
      ...adminContext(now(), caller.source?.ip),
      findings: { categories: [...new Set(findings.map((f) => f.category))], highestScore: Math.max(0, ...findings.map((f) => Math.round(f.score * 100))) },
      arguments: argumentSet(args),
    };
    const resourceType = target.kind === 'tool' ? 'Warden::Tool' : target.kind === 'prompt' ? 'Warden::Prompt' : 'Warden::Resource';
    return authorize(
      { principal: { type: 'Warden::Agent', id: caller.agent }, action: { type: 'Warden::Action', id: target.action }, resource: { type: resourceType, id: target.id }, context },
      { extraEntities: target.entities, record, ...(caller.source ? { source: caller.source } : {}) },
    );
  }

  /** A listing: one decision (and one durable audit entry) per item, all made at once so their entries share commits. */
  async function visible<T>(caller: GatewayCaller, items: readonly T[], targetOf: (item: T) => Target): Promise<T[]> {
    const decisions = await Promise.all(items.map((item) => decide(caller, targetOf(item), undefined, [])));
    return items.filter((_, i) => decisions[i]!.decision === 'allow');
  }

  /** Records a request refused before authorization (rate limit, content too large to screen), then throws its error. */
  async function refuse(caller: GatewayCaller, target: { kind: string; id: string }, action: string, err: WardenError): Promise<never> {
    await audit
      .append({ class: 'api_activity', activityId: 99, action, actor: { type: 'agent', id: caller.agent }, ...(caller.source ? { source: caller.source } : {}), resource: { type: target.kind, id: target.id.slice(0, 256) }, outcome: 'failure', details: { error: err.code } })
      .catch((cause: unknown) => {
        throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', 'could not record the refusal', { cause });
      });
    throw err;
  }

  /** limit: a refusal is recorded too. */
  async function limit(caller: GatewayCaller, target: { kind: string; id: string }): Promise<void> {
    await limiter.prepare(caller.agent);
    try {
      limiter.take(caller.agent, target.id);
    } catch (err) {
      if (isWardenError(err, 'WARDEN_RATE_LIMITED')) await refuse(caller, target, 'mcp.rate_limited', err);
      throw err;
    }
  }

  /**
   * The stages after limit, for one request: screen(in) -> authorize (+ audit(decision)) -> approval ->
   * forward -> screen(out) -> audit(result) -> observe. `hidden` makes the error for a denied request.
   *
   * audit(decision) is durable before forward, except for a read-only tool: its call is forwarded while the
   * decision entry is being written, and audit(result) releases the result only once both the decision
   * and the result entries are durable — if either cannot be written the agent gets WARDEN_AUDIT_UNAVAILABLE
   * and nothing else. A read-only call that needs approval waits for its decision entry before the approval.
   */
  async function run<R extends CallToolResult | GetPromptResult | ReadResourceResult, A extends Record<string, unknown> | undefined>(
    caller: GatewayCaller,
    target: Target,
    args: A,
    hidden: () => WardenError,
    forward: (connection: UpstreamConnection, args: A) => Promise<R>,
  ): Promise<CallOutcome<R>> {
    // screen(in): findings go to the policy context; redaction and tokenization change what is forwarded
    let screenedIn: Screened<A>;
    try {
      screenedIn = screen ? ((await screen.input(args)) as Screened<A>) : unscreened(args);
    } catch (err) {
      if (isWardenError(err, 'WARDEN_SCREEN_TOO_LARGE')) await refuse(caller, target, target.action.replace(':', '.'), err);
      throw err;
    }
    const findingsIn = screenedIn.findings;
    // authorize + audit(decision): durable here, or (read-only tools) by the time the result is released
    const decision = await decide(caller, target, args, findingsIn, target.readOnly ? 'deferred' : 'durable');
    const decisionRecorded = decision.recorded ?? Promise.resolve();
    if (decision.decision !== 'allow') {
      await decisionRecorded;
      throw hidden();
    }
    const approvals = target.kind === 'tool' ? options.approvals : undefined;
    let failure: WardenError | undefined =
      screenedIn.outcome === 'block' || (screenedIn.outcome === 'approve' && !approvals) ? screenBlocked('arguments', findingsIn) : undefined;
    // approval (tool calls: held until an admin decides, single use, bound to agent, tool and argument digest)
    if (!failure && approvals && (screenedIn.outcome === 'approve' || approvals.needsApproval(decision))) {
      await decisionRecorded;
      await approvals.store.await({ agent: caller.agent, tool: target.id, args });
    }
    // forward
    const started = now();
    let result: R | undefined;
    if (!failure) {
      try {
        const connection = catalog.connection(target.upstream, caller.agent);
        if (!connection) throw new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', `upstream ${target.upstream} is not connected`);
        result = await forward(connection, screenedIn.value);
      } catch (err) {
        failure = isWardenError(err) ? err : new WardenError('WARDEN_UPSTREAM_UNAVAILABLE', 'the upstream call failed', { cause: err });
      }
    }
    const latencyMs = now() - started;
    // screen(out): a result that cannot be screened, or whose findings block it, is withheld
    let findingsOut: ContentFinding[] = [];
    if (result && screen) {
      try {
        const screenedOut = await screen.output(result, target.kind === 'tool' ? target.id : undefined);
        findingsOut = screenedOut.findings;
        if (screenedOut.outcome === 'block' || screenedOut.outcome === 'approve') failure = screenBlocked('result', findingsOut);
        result = screenedOut.value;
      } catch (err) {
        failure = isWardenError(err) ? err : new WardenError('WARDEN_INTERNAL', 'screening the result failed', { cause: err });
      }
      if (failure) result = undefined;
    }
    // audit(result): fail closed — a result is returned only once it and its decision are recorded.
    let resultRecorded: Promise<{ index: number }>;
    try {
      resultRecorded = audit.append({
        class: 'api_activity',
        activityId: 99,
        action: target.action.replace(':', '.'),
        actor: { type: 'agent', id: caller.agent },
        ...(caller.source ? { source: caller.source } : {}),
        resource: { type: target.kind, id: target.id },
        decision: { id: decision.decisionId, effect: 'allow', policyIds: decision.policies, policySetVersion: String(decision.policySetVersion) },
        outcome: failure || (result && 'isError' in result && result.isError) ? 'failure' : 'success',
        details: {
          upstream: target.upstream,
          latencyMs,
          ...(failure ? { error: failure.code } : {}),
          ...(findingsIn.length + findingsOut.length > 0 ? { findings: findingSummary([...findingsIn, ...findingsOut]) } : {}),
        },
        sensitive: { arguments: JSON.stringify(args ?? {}) },
      });
    } catch (err) {
      resultRecorded = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const [decisionEntry, resultEntry] = await Promise.allSettled([decisionRecorded, resultRecorded]);
    if (decisionEntry.status === 'rejected' || resultEntry.status === 'rejected') {
      const cause: unknown = decisionEntry.status === 'rejected' ? decisionEntry.reason : (resultEntry as PromiseRejectedResult).reason;
      throw new WardenError('WARDEN_AUDIT_UNAVAILABLE', `could not record the ${target.kind} request`, { cause });
    }
    const index = resultEntry.value.index;
    // observe
    options.observe?.({ agent: caller.agent, tool: target.id, outcome: failure ? 'failure' : 'success', latencyMs });
    // A failed request's error carries its receipt too.
    if (failure) throw new WardenError(failure.code, failure.message, { details: { ...failure.details, auditIndex: index }, cause: failure });
    return { result: result!, auditIndex: index };
  }

  return {
    async listTools(caller) {
      const shown = await visible(caller, await catalog.tools(), toolTarget);
      return shown.map((tool) => ({ ...tool.tool, name: tool.name }));
    },

    async callTool(caller, name, args) {
      await limit(caller, { kind: 'tool', id: name });
      const tool = await catalog.find(name);
      if (!tool) throw unknownTool(name);
      return run(caller, toolTarget(tool), args, () => unknownTool(name), (connection, screened) => connection.callTool(tool.tool.name, screened));
    },

    async listPrompts(caller) {
      const shown = await visible(caller, await catalog.prompts(), (p) => promptTarget(p.name, p.upstream));
      return shown.map((p) => ({ ...p.prompt, name: p.name }));
    },

    async getPrompt(caller, name, args) {
      await limit(caller, { kind: 'prompt', id: name });
      const prompt = await catalog.findPrompt(name);
      if (!prompt) throw unknownPrompt(name);
      return run(caller, promptTarget(name, prompt.upstream), args, () => unknownPrompt(name), (connection, screened) => connection.getPrompt(prompt.prompt.name, screened));
    },

    async listResources(caller) {
      const shown = await visible(caller, await catalog.resources(), (r) => resourceTarget(r.uri, r.upstream));
      return shown.flatMap((r) => (r.resource ? [r.resource] : []));
    },

    async listResourceTemplates(caller) {
      const shown = await visible(caller, await catalog.resourceTemplates(), (t) => resourceTarget(t.template.uriTemplate, t.upstream));
      return shown.map((t) => t.template);
    },

    async readResource(caller, uri) {
      await limit(caller, { kind: 'resource', id: uri });
      const resource = await catalog.findResource(uri);
      if (!resource) throw unknownResource(uri);
      return run(caller, resourceTarget(uri, resource.upstream), undefined, () => unknownResource(uri), (connection) => connection.readResource(uri));
    },
  };
}
