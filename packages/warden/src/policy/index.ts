/**
 * Public API of the policy subsystem: the Cedar schema Warden validates against, the engine (check,
 * compile, evaluate), entity providers that slice the entities a request needs, the decision cache,
 * the authorizer — the one decision point that evaluates, audits and caches — and the two reviews
 * built on its audited decisions: the change gate (dry-run) and the access review (permissions).
 */
export { wardenSchema } from './schema.js';
export {
  LINKS_FILE,
  createPolicyEngine,
  type AuthorizationRequest,
  type CedarEntity,
  type CheckResult,
  type CompiledPolicySet,
  type EntityRef,
  type Evaluation,
  type PolicyDiagnostic,
  type PolicyEngine,
  type PolicyFile,
  type PolicyLink,
} from './engine.js';
export { AGENT_TYPE, ROLE_TYPE, agentEntity, agentEntityProvider, type EntityProvider, type EntitySlice } from './entities.js';
export { createDecisionCache, decisionCacheKey, type DecisionCache, type DecisionCacheKeyInput } from './decision-cache.js';
export {
  createAuthorizer,
  type AuditActor,
  type Authorizer,
  type AuthorizerOptions,
  type AuthorizeOptions,
  type Decision,
} from './authorizer.js';
export {
  createPolicyStore,
  type ApplyResult,
  type PolicyLinkInput,
  type PolicyChangeOptions,
  type PolicyStore,
  type PolicyStoreOptions,
  type PolicyVersion,
  type PolicyVersionInfo,
} from './policy-store.js';
export {
  baseTestContext,
  formatEntityRef,
  parseEntityRef,
  parsePolicyTests,
  readPolicyDir,
  runPolicyTests,
  type PolicyTestCase,
  type PolicyTestResult,
} from './policy-tests.js';
export {
  DRY_RUN_MAX_LIMIT,
  SENSITIVE_CONTEXT_FIELDS,
  dryRun,
  entityResolver,
  parseRecordedDecision,
  readRecordedDecisions,
  type DryRunOptions,
  type DryRunReport,
  type Flip,
  type RecordedDecision,
  type RecordedDecisions,
} from './dry-run.js';
export {
  agentActionsByResourceType,
  neutralContext,
  permissionsOf,
  recordedResources,
  representativeContexts,
  type Access,
  type Permission,
  type PermissionsOfOptions,
  type PermissionsReport,
} from './permissions.js';
export {
  BUILTIN_POLICY_VERSION,
  builtinPolicyFiles,
  builtinPolicySetVersion,
  compileBuiltinPolicies,
  createBuiltinAuthorizer,
  type AdminAction,
  type AdminCollection,
  type AdminRequest,
  type BuiltinAuthorizer,
} from './builtin.js';
