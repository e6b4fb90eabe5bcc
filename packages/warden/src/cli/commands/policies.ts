/**
 * `warden policies …`: manage Cedar policy sets on a running server (`/v1/policies`) and ask it for
 * decisions (`/v1/authorize`). `apply DIR` sends every `*.cedar` file in DIR as the next version after
 * checking it locally, so diagnostics print as `file:line:column: message` (exit 2); `apply --dry-run
 * DIR` applies nothing and prints the recent decisions the set would flip (`/v1/policies/dry-run`); `test FILE` runs
 * a YAML file of cases against a local directory (`--dir`, no server needed) or the server's active
 * set, printing a pass/fail table (exit 1 when a case fails); `explain` shows one decision with the
 * text of the policies that determined it. `link TEMPLATE_ID --principal REF [--resource REF] [--id ID]`
 * links a template of the active set (a new version, `/v1/policies/links`) and `unlink LINK_ID` removes
 * one. Every command takes `--json`; bad flags are WARDEN_USAGE.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { WardenError } from '../../errors/index.js';
import type { Decision } from '../../policy/authorizer.js';
import type { DryRunReport, Flip } from '../../policy/dry-run.js';
import { createPolicyEngine, type EntityRef, type PolicyDiagnostic, type PolicyFile, type PolicyLink } from '../../policy/engine.js';
import { baseTestContext, formatEntityRef, parseEntityRef, parsePolicyTests, readPolicyDir, runPolicyTests, type PolicyTestResult } from '../../policy/policy-tests.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

interface PolicySetJson {
  version: number;
  createdAt: number;
  createdBy: string;
  comment: string | null;
  policyCount: number;
  active: boolean;
  files: PolicyFile[];
  policies: { id: string; text: string }[];
  templates?: { id: string; text: string }[];
  links?: PolicyLink[];
}
type VersionInfoJson = Omit<PolicySetJson, 'files' | 'policies' | 'templates' | 'links'>;
type Flags = ServerFlags & { json?: boolean };

const usage = (message: string) => new WardenError('WARDEN_USAGE', message);
const isWardenPolicyInvalid = (err: unknown) => err instanceof WardenError && err.code === 'WARDEN_POLICY_INVALID';
const time = (ms: number) => new Date(ms).toISOString();
const indent = (text: string, by = '    ') => text.trimEnd().split('\n').map((line) => `${by}${line}`);


function parseVersion(text: string): number {
  if (!/^[1-9]\d{0,14}$/.test(text)) throw usage(`VERSION must be a positive whole number, got "${text}"`);
  return Number(text);
}

/** The flips of a dry run as table lines. */
export function dryRunLines(report: DryRunReport): string[] {
  const { allowToDeny, denyToAllow } = report.flips;
  const row = (kind: string, f: Flip) =>
    `${kind.padEnd(13)} ${f.time.padEnd(24)} ${formatEntityRef(f.request.principal).padEnd(32)} ${f.request.action.id.padEnd(20)} ${formatEntityRef(f.request.resource).padEnd(32)} ${(f.oldPolicies.join(',') || '-').padEnd(20)} ${f.newPolicies.join(',') || '-'}${f.approximate ? ' (approximate)' : ''}`;
  const flips = [...allowToDeny.map((f) => row('allow -> deny', f)), ...denyToAllow.map((f) => row('deny -> allow', f))];
  return [
    `Dry run: ${report.replayed} decision(s) replayed, ${report.skipped} skipped, ${report.approximate} approximate (sensitive context absent); nothing was applied.`,
    ...(flips.length === 0
      ? ['No decision would change.']
      : [`${'CHANGE'.padEnd(13)} ${'TIME'.padEnd(24)} ${'PRINCIPAL'.padEnd(32)} ${'ACTION'.padEnd(20)} ${'RESOURCE'.padEnd(32)} ${'OLD POLICIES'.padEnd(20)} NEW POLICIES`, ...flips]),
    `${allowToDeny.length} allow -> deny, ${denyToAllow.length} deny -> allow`,
  ];
}

export function formatDiagnostic(d: PolicyDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}`;
}

function resultLine(r: PolicyTestResult): string {
  const why = r.pass ? `${r.decision}${r.policies.length ? ` by ${r.policies.join(', ')}` : ''}` : r.reason ?? '';
  return `${r.pass ? 'PASS' : 'FAIL'}  ${String(r.index + 1).padStart(3)}  ${r.name.padEnd(32)} ${why}${r.errors.length ? ` (errors: ${r.errors.join('; ')})` : ''}`;
}

export function policiesCommand(program: Command, ctx: CliContext): void {
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');
  const policies = program.command('policies').description('manage Cedar policy sets and explain decisions');

  /** Prints diagnostics (stderr, or JSON on stdout) and throws WARDEN_POLICY_INVALID (exit 2). */
  const reject = (flags: { json?: boolean }, diagnostics: readonly PolicyDiagnostic[]): never => {
    if (flags.json === true) ctx.io.stdout(`${JSON.stringify({ errors: diagnostics }, null, 2)}\n`);
    else for (const d of diagnostics) ctx.io.stderr(`${formatDiagnostic(d)}\n`);
    throw new WardenError('WARDEN_POLICY_INVALID', `the policy set has ${diagnostics.length} error(s)`, { details: { errors: diagnostics } });
  };
  const compileLocally = (flags: { json?: boolean }, version: number, files: PolicyFile[], links: PolicyLink[] = []) => {
    const engine = createPolicyEngine();
    const checked = engine.check(files, links);
    if (!checked.ok) reject(flags, checked.diagnostics);
    return { engine, set: engine.compile(version, files, links) };
  };
  /** Sends a change; WARDEN_POLICY_INVALID diagnostics print like a local check's. */
  const sendChange = async <T>(flags: Flags, method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> => {
    try {
      return await createClient(flags, ctx).send<T>(method, path, body);
    } catch (err) {
      const errors = err instanceof WardenError ? err.details?.errors : undefined;
      if (Array.isArray(errors) && isWardenPolicyInvalid(err)) reject(flags, errors as PolicyDiagnostic[]);
      throw err;
    }
  };
  const linkLine = (l: PolicyLink) =>
    `  ${l.id} -> ${l.templateId}${l.principal ? ` principal ${formatEntityRef(l.principal)}` : ''}${l.resource ? ` resource ${formatEntityRef(l.resource)}` : ''}`;

  server(policies.command('apply').description('apply every *.cedar file in DIR as the next policy set version').argument('<dir>', 'directory of .cedar files'))
    .option('--comment <text>', 'why this change is made (kept in the history)')
    .option('--dry-run', 'apply nothing: replay recent decisions against DIR and print those that would change')
    .action(async (dir: string, flags: Flags & { comment?: string; dryRun?: boolean }) => {
      if (flags.comment !== undefined && (flags.comment.length < 1 || flags.comment.length > 1024)) throw usage('--comment must be 1..1024 characters');
      const files = await readPolicyDir(dir);
      const checked = createPolicyEngine().check(files);
      if (!checked.ok) reject(flags, checked.diagnostics);
      if (flags.dryRun === true) {
        let report: DryRunReport;
        try {
          report = await createClient(flags, ctx).send<DryRunReport>('POST', '/v1/policies/dry-run', { files });
        } catch (err) {
          const errors = err instanceof WardenError ? err.details?.errors : undefined;
          if (Array.isArray(errors) && isWardenPolicyInvalid(err)) reject(flags, errors as PolicyDiagnostic[]);
          throw err;
        }
        printResult(ctx.io, flags.json === true, report, () => dryRunLines(report));
        return;
      }
      const body = { files, ...(flags.comment === undefined ? {} : { comment: flags.comment }) };
      let result: { version: number; droppedLinks?: string[] };
      try {
        result = await createClient(flags, ctx).send<{ version: number; droppedLinks?: string[] }>('PUT', '/v1/policies', body);
      } catch (err) {
        const errors = err instanceof WardenError ? err.details?.errors : undefined;
        if (Array.isArray(errors)) reject(flags, errors as PolicyDiagnostic[]);
        throw err;
      }
      printResult(ctx.io, flags.json === true, result, () => [
        `Applied ${files.length} file(s) as policy set version ${result.version}.`,
        ...(result.droppedLinks?.length ? [`Dropped template link(s) whose template is gone: ${result.droppedLinks.join(', ')}`] : []),
      ]);
    });

  server(policies.command('list').description('show the active policy set version and its policy ids'))
    .option('--builtin', 'show the built-in policies that authorize the admin API (no server needed)')
    .action(async (flags: Flags & { builtin?: boolean }) => {
      if (flags.builtin) {
        const { builtinPolicyFiles, builtinPolicySetVersion } = await import('../../policy/builtin.js');
        printResult(ctx.io, flags.json === true, { version: builtinPolicySetVersion, files: builtinPolicyFiles }, () => [
          `Built-in admin policies, version ${builtinPolicySetVersion} (read-only):`,
          ...builtinPolicyFiles.flatMap((file) => [`# ${file.name}`, file.text.trim(), '']),
        ]);
        return;
      }
      const set = await createClient(flags, ctx).getJson<PolicySetJson>('/v1/policies');
      const templates = set.templates ?? [];
      const links = set.links ?? [];
      const value = { version: set.version, policies: set.policies.map((p) => p.id), templates: templates.map((t) => t.id), links };
      printResult(ctx.io, flags.json === true, value, () => [
        `Active policy set: version ${set.version} (${set.policies.length} policies, ${set.files.length} files, by ${set.createdBy} at ${time(set.createdAt)})`,
        ...set.policies.map((p) => `  ${p.id}`),
        ...(templates.length === 0 ? [] : ['Templates:', ...templates.map((t) => `  ${t.id}`)]),
        ...(links.length === 0 ? [] : ['Links:', ...links.map(linkLine)]),
      ]);
    });

  server(policies.command('show').description('show the files of a policy set version (default: active)').argument('[version]', 'version number')).action(
    async (version: string | undefined, flags: Flags) => {
      const query = version === undefined ? '' : `?version=${parseVersion(version)}`;
      const set = await createClient(flags, ctx).getJson<PolicySetJson>(`/v1/policies${query}`);
      printResult(ctx.io, flags.json === true, set, () => [
        `Policy set version ${set.version}${set.active ? ' (active)' : ''}, by ${set.createdBy} at ${time(set.createdAt)}${set.comment === null ? '' : `: ${set.comment}`}`,
        ...set.files.flatMap((f) => ['', `--- ${f.name}`, f.text.trimEnd()]),
      ]);
    },
  );

  server(policies.command('history').description('list every policy set version, newest first')).action(async (flags: Flags) => {
    const history = await createClient(flags, ctx).getJson<{ versions: VersionInfoJson[] }>('/v1/policies/history');
    printResult(ctx.io, flags.json === true, history, () =>
      history.versions.length === 0
        ? ['No policy sets.']
        : history.versions.map(
            (v) => `${v.active ? '*' : ' '} ${String(v.version).padStart(5)}  ${time(v.createdAt)}  ${v.createdBy.padEnd(16)} ${String(v.policyCount).padStart(4)} policies  ${v.comment ?? ''}`.trimEnd(),
          ),
    );
  });

  server(policies.command('link').description('link a template of the active policy set (stores a new version)').argument('<template-id>', 'the template id'))
    .option('--principal <ref>', 'the entity for ?principal, e.g. Warden::Agent::"billing-bot"')
    .option('--resource <ref>', 'the entity for ?resource, e.g. Warden::Server::"github"')
    .option('--id <id>', 'the link id (names the link in decisions; default: made from the template id)')
    .action(async (templateId: string, flags: Flags & { principal?: string; resource?: string; id?: string }) => {
      const ref = (flag: string, text: string | undefined): EntityRef | undefined => {
        if (text === undefined) return undefined;
        const parsed = parseEntityRef(text);
        if (parsed === undefined) throw usage(`--${flag} must be Type::"id", got "${text}"`);
        return parsed;
      };
      const principal = ref('principal', flags.principal);
      const resource = ref('resource', flags.resource);
      if (principal === undefined && resource === undefined) throw usage('give --principal and/or --resource');
      if (flags.id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(flags.id)) throw usage(`--id must be letters, digits and . _ : @ -, got "${flags.id}"`);
      const body = { templateId, ...(principal === undefined ? {} : { principal }), ...(resource === undefined ? {} : { resource }), ...(flags.id === undefined ? {} : { id: flags.id }) };
      const result = await sendChange<{ version: number; id: string }>(flags, 'POST', '/v1/policies/links', body);
      printResult(ctx.io, flags.json === true, result, () => [`Linked ${templateId} as ${result.id}: policy set version ${result.version} is active.`]);
    });

  server(policies.command('unlink').description('remove a template link (stores a new version)').argument('<link-id>', 'the link id')).action(
    async (id: string, flags: Flags) => {
      const result = await sendChange<{ version: number }>(flags, 'DELETE', `/v1/policies/links/${encodeURIComponent(id)}`);
      printResult(ctx.io, flags.json === true, result, () => [`Removed link ${id}: policy set version ${result.version} is active.`]);
    },
  );

  server(policies.command('rollback').description('re-activate an earlier policy set version').argument('<version>', 'version number')).action(
    async (version: string, flags: Flags) => {
      const result = await createClient(flags, ctx).send<{ version: number }>('POST', '/v1/policies/rollback', { version: parseVersion(version) });
      printResult(ctx.io, flags.json === true, result, () => [`Policy set version ${result.version} is active.`]);
    },
  );

  server(policies.command('test').description('run a YAML file of policy test cases').argument('<file>', 'YAML file of cases'))
    .option('--dir <dir>', 'test the *.cedar files in this directory (locally, no server) instead of the active set')
    .action(async (file: string, flags: Flags & { dir?: string }) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        throw new WardenError('WARDEN_USAGE', `cannot read ${file}`, { cause });
      }
      const cases = parsePolicyTests(text, file);
      const { engine, set } =
        flags.dir !== undefined
          ? compileLocally(flags, 0, await readPolicyDir(flags.dir))
          : await (async () => {
              const active = await createClient(flags, ctx).getJson<PolicySetJson>('/v1/policies');
              return compileLocally(flags, active.version, active.files, active.links ?? []);
            })();
      const results = runPolicyTests(engine, set, cases);
      const failed = results.filter((r) => !r.pass).length;
      const source = flags.dir ?? `policy set version ${set.version}`;
      printResult(ctx.io, flags.json === true, { source, passed: results.length - failed, failed, results }, () => [
        ...results.map(resultLine),
        `${results.length - failed} passed, ${failed} failed (${source})`,
      ]);
      if (failed > 0) throw new WardenError('WARDEN_POLICY_TEST_FAILED', `${failed} of ${results.length} policy test case(s) failed`);
    });

  server(policies.command('explain').description('ask the server for one decision and show the policies that determined it'))
    .requiredOption('--agent <name>', 'the agent (principal Warden::Agent::"<name>")')
    .requiredOption('--action <action>', 'the action, e.g. kms:decrypt')
    .requiredOption('--resource <ref>', 'the resource, e.g. Warden::Key::"payments"')
    .option('--context <json>', 'context fields (JSON object) over the defaults: now, 127.0.0.1, no risk, no findings')
    .action(async (flags: Flags & { agent: string; action: string; resource: string; context?: string }) => {
      const resource = parseEntityRef(flags.resource);
      if (resource === undefined) throw usage(`--resource must be Type::"id", got "${flags.resource}"`);
      const action = parseEntityRef(flags.action) ?? { type: 'Warden::Action', id: flags.action };
      let extra: unknown = {};
      if (flags.context !== undefined) {
        try {
          extra = JSON.parse(flags.context) as unknown;
        } catch {
          throw usage('--context must be a JSON object');
        }
        if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw usage('--context must be a JSON object');
      }
      const now = new Date();
      const context = { ...baseTestContext, hour: now.getUTCHours(), weekday: now.getUTCDay(), ...(extra as Record<string, unknown>) };
      const client = createClient(flags, ctx);
      const decision = await client.send<Decision>('POST', '/v1/authorize', { principal: { type: 'Warden::Agent', id: flags.agent }, action, resource, context });
      const texts: Record<string, string> = {};
      if (decision.policySetVersion > 0 && decision.policies.length > 0) {
        const set = await client.getJson<PolicySetJson>(`/v1/policies?version=${decision.policySetVersion}`);
        for (const p of set.policies) if (decision.policies.includes(p.id)) texts[p.id] = p.text;
        // A link determined it: show its template's text.
        for (const l of set.links ?? []) {
          const template = set.templates?.find((t) => t.id === l.templateId);
          if (decision.policies.includes(l.id) && template !== undefined) texts[l.id] = template.text;
        }
      }
      printResult(ctx.io, flags.json === true, { ...decision, policyTexts: texts }, () => [
        `Decision: ${decision.decision.toUpperCase()} (decision ${decision.decisionId}, policy set version ${decision.policySetVersion})`,
        ...(decision.policies.length === 0
          ? ['No policy determined it (default deny).']
          : ['Determining policies:', ...decision.policies.flatMap((id) => [`  ${id}:`, ...indent(texts[id] ?? '(text unavailable)')])]),
        ...(decision.errors.length === 0 ? [] : ['Errors:', ...decision.errors.map((e) => `  ${e}`)]),
      ]);
    });
}
