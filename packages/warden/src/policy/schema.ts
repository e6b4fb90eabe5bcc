/**
 * The Cedar schema every Warden policy is strictly validated against (namespace `Warden`). Agents
 * (members of `Role`s) and admins (members of `AdminRole`s) are the principals; MCP servers and their tools,
 * resources (`Warden::Resource::"<uri>"`) and prompts (`Warden::Prompt::"<server>__<prompt>"`),
 * KMS keys, HTTP routes and the admin collections (`Agents`, `Policies`, `Keys`, `Audit`, `Admins`, `Upstreams`,
 * `Secrets`, `Screen`) are
 * the resources; admins `admin:read` and `admin:write` a collection, `admin:authorize` asks for a decision
 * (`POST /v1/authorize`) and `admin:self` is self-service (logout, own admin tokens). Free-form labels are Cedar entity
 * tags of type String (`principal.hasTag("team") && principal.getTag("team") == "billing"`), because a
 * Cedar record must declare its attributes. Tool arguments and the KMS encryption context are optional
 * sets of `{ key, value }` string pairs for the same reason (`context.encryptionContext.contains({ key:
 * "tenant", value: "acme" })`). Every action shares one context type, so a blanket `forbid ... when {
 * context.riskScore > 80 }` validates; admin requests pass riskScore 0 and empty findings. `sourceIp` is an `ipaddr` (pass the address as a plain string; the
 * schema makes Cedar parse it). Keys are used by agents and by admins (`warden keys encrypt`), both
 * decided by the operator's policies; `kms:generate_data_key_plaintext` (a data key returned in clear)
 * and `kms:hmac_verify` are separate actions so each can be granted or denied on its own. `tokens:detokenize`
 * turns screening tokens made with a key back into the values they stand for (its own action, on that key).
 */

/** Cedar schema text (human-readable format), namespace `Warden`. */
export const wardenSchema = `namespace Warden {
  type KeyValue = { key: String, value: String };
  type Findings = { categories: Set<String>, highestScore: Long };
  type RequestContext = {
    hour: Long,
    weekday: Long,
    sourceIp: ipaddr,
    riskScore: Long,
    findings: Findings,
    arguments?: Set<KeyValue>,
    encryptionContext?: Set<KeyValue>,
  };

  entity Role;
  entity AdminRole;
  entity Agent in [Role] = {
    owner: String,
    region?: String,
    environment?: String,
    clearance: Long,
    riskScore: Long,
    status: String,
  } tags String;
  entity Admin in [AdminRole] = { role: String };

  entity Server = { name: String } tags String;
  entity Tool in [Server] = {
    name: String,
    readOnly: Bool,
    destructive: Bool,
    sensitivity: Long,
  } tags String;
  entity Resource in [Server] = { uri: String } tags String;
  entity Prompt in [Server] = { name: String } tags String;
  entity Key = { purpose: String, region: String } tags String;
  entity Route = { host: String, pathPrefix: String, methods: Set<String> };

  entity Agents;
  entity Policies;
  entity Keys;
  entity Audit;
  entity Admins;
  entity Upstreams;
  entity Secrets;
  entity Screen;

  action "mcp:list_tools" appliesTo { principal: [Agent], resource: [Server, Tool], context: RequestContext };
  action "mcp:call_tool" appliesTo { principal: [Agent], resource: [Tool], context: RequestContext };
  action "mcp:read_resource" appliesTo { principal: [Agent], resource: [Resource], context: RequestContext };
  action "mcp:get_prompt" appliesTo { principal: [Agent], resource: [Prompt], context: RequestContext };
  action "kms:encrypt", "kms:decrypt", "kms:generate_data_key", "kms:generate_data_key_plaintext", "kms:rewrap",
    "kms:sign", "kms:verify", "kms:hmac", "kms:hmac_verify"
    appliesTo { principal: [Agent, Admin], resource: [Key], context: RequestContext };
  action "tokens:detokenize" appliesTo { principal: [Agent, Admin], resource: [Key], context: RequestContext };
  action "http:request" appliesTo { principal: [Agent], resource: [Route], context: RequestContext };
  action "admin:read", "admin:write" appliesTo {
    principal: [Admin],
    resource: [Agents, Policies, Keys, Audit, Admins, Upstreams, Secrets, Screen],
    context: RequestContext,
  };
  action "admin:authorize" appliesTo { principal: [Admin], resource: [Policies], context: RequestContext };
  action "admin:self" appliesTo { principal: [Admin], resource: [Admins], context: RequestContext };
}
`;
