/**
 * The policy store: every applied Cedar policy set as an immutable, numbered version, and which one is
 * active. `apply` checks the files with the engine first (diagnostics → WARDEN_POLICY_INVALID, nothing
 * written), records `policy.apply` in the audit log and waits for it to be durable, and only then
 * inserts the version and activates it in one transaction; `rollback` re-activates an old version the
 * same way. The active set is compiled once per version and kept in memory; `refresh()` re-reads the
 * active version so other nodes pick changes up. Versions are the table's primary key: when another
 * node took the same number first, the apply records a failure entry and retries with the next one.
 * Template links belong to a version too: `link`/`unlink` store a new version holding the active files
 * and its links plus (minus) one, checked and audited first like apply; `apply` carries the active
 * version's links over when their templates still exist and reports the ones it dropped.
 */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import { auditFirst, type ChangeContext } from '../identity/agents.js';
import { isUniqueViolation, type Database } from '../store/index.js';
import { LINKS_FILE, type CompiledPolicySet, type PolicyEngine, type PolicyFile, type PolicyLink } from './engine.js';

/** At most this many attempts at a fresh version number when other nodes keep taking it. */
const MAX_APPLY_ATTEMPTS = 5;

export interface PolicyVersionInfo {
  readonly version: number;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly comment: string | null;
  readonly policyCount: number;
  readonly active: boolean;
}

export interface PolicyVersion extends PolicyVersionInfo {
  readonly files: PolicyFile[];
  /** Policy id → Cedar text. */
  readonly policies: ReadonlyMap<string, string>;
  /** Template id → Cedar text. */
  readonly templates: ReadonlyMap<string, string>;
  readonly links: PolicyLink[];
}

export interface ApplyResult {
  version: number;
  /** Links of the previously active version not carried over (their template is gone). */
  droppedLinks?: string[];
}

export interface PolicyChangeOptions extends ChangeContext {
  readonly comment?: string;
}

export interface PolicyStore {
  /** Checks, audits, stores and activates `files` as the next version. */
  apply(files: readonly PolicyFile[], options: PolicyChangeOptions): Promise<ApplyResult>;
  /** Stores the active files and links plus `link` as the next version (checked, audited first). */
  link(link: PolicyLinkInput, options: PolicyChangeOptions): Promise<{ version: number; id: string }>;
  /** Stores the active files and links minus link `id` as the next version; WARDEN_NOT_FOUND when there is no such link. */
  unlink(id: string, options: PolicyChangeOptions): Promise<{ version: number }>;
  /** The compiled active set as of the last apply/rollback/refresh on this node. */
  active(): CompiledPolicySet | undefined;
  /** Re-reads the active version from the store (compiling it when new); notifies listeners on change. */
  refresh(): Promise<CompiledPolicySet | undefined>;
  /** Every version, newest first. */
  history(): Promise<PolicyVersionInfo[]>;
  /** One version with its files and policies; WARDEN_NOT_FOUND when there is none. */
  show(version?: number): Promise<PolicyVersion>;
  /** Re-activates an existing version (audited first). */
  rollback(version: number, ctx: ChangeContext): Promise<{ version: number }>;
  /** Called with the new active set after it changed; returns the unsubscribe function. */
  onChange(listener: (set: CompiledPolicySet | undefined) => void): () => void;
}

/** A link to create; without `id`, one is made from the template id. */
export type PolicyLinkInput = Omit<PolicyLink, 'id'> & { id?: string };

export interface PolicyStoreOptions {
  readonly db: Kysely<Database>;
  readonly engine: Pick<PolicyEngine, 'check' | 'compile'>;
  readonly audit: Pick<AuditLog, 'append'>;
  /** Clock (tests). */
  readonly now?: () => number;
}

const notFound = (what: string) => new WardenError('WARDEN_NOT_FOUND', `${what} not found`);

function checkVersion(version: number): number {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new WardenError('WARDEN_VALIDATION_FAILED', 'version must be a positive integer', { details: { errors: [{ path: 'version', message: 'positive integer' }] } });
  }
  return version;
}

export function createPolicyStore({ db, engine, audit, now = Date.now }: PolicyStoreOptions): PolicyStore {
  const listeners = new Set<(set: CompiledPolicySet | undefined) => void>();
  let current: CompiledPolicySet | undefined;
  /** Serializes this node's applies and rollbacks (other nodes are kept apart by the primary key). */
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(job: () => Promise<T>): Promise<T> => {
    const run = queue.then(job, job);
    queue = run.catch(() => undefined);
    return run;
  };

  const setCurrent = (set: CompiledPolicySet | undefined): void => {
    if (set?.version === current?.version) return;
    current = set;
    for (const listener of listeners) {
      try {
        listener(set);
      } catch {
        // A failing listener must not undo a committed change or starve the others.
      }
    }
  };

  const readFiles = (json: string): PolicyFile[] => JSON.parse(json) as PolicyFile[];
  const readLinks = (json: string | null | undefined): PolicyLink[] => (json ? (JSON.parse(json) as PolicyLink[]) : []);
  const activeVersion = async (): Promise<number | undefined> => {
    const row = await db.selectFrom('policy_active').select('version').where('id', '=', 1).executeTakeFirst();
    return row === undefined ? undefined : Number(row.version);
  };
  const loadRow = (version: number) => db.selectFrom('policy_sets').selectAll().where('version', '=', version).executeTakeFirst();
  const compileVersion = async (version: number): Promise<CompiledPolicySet> => {
    if (current?.version === version) return current;
    const row = await loadRow(version);
    if (row === undefined) throw notFound(`policy set version ${version}`);
    return engine.compile(version, readFiles(row.files), readLinks(row.links));
  };
  const activate = (trx: Kysely<Database>, version: number, by: string) =>
    trx
      .insertInto('policy_active')
      .values({ id: 1, version, updated_at: now(), updated_by: by })
      .onConflict((oc) => oc.column('id').doUpdateSet({ version, updated_at: now(), updated_by: by }))
      .execute();

  const invalid = (diagnostics: unknown[]) => new WardenError('WARDEN_POLICY_INVALID', `the policy set has ${diagnostics.length} error(s)`, { details: { errors: diagnostics } });

  /** Checks, audits first, then stores and activates `files` + `links` as the next version. */
  const commit = async (
    files: readonly PolicyFile[],
    links: readonly PolicyLink[],
    options: PolicyChangeOptions,
    action: string,
    extra: Record<string, unknown>,
  ): Promise<{ version: number }> => {
    const checked = engine.check(files, links);
    if (!checked.ok) throw invalid(checked.diagnostics);
    const policyIds = [...checked.policies.keys()];
    const fileList = files.map((f) => ({ name: f.name, text: f.text }));
    const linkList = links.map((l) => ({ ...l }));
    const comment = options.comment ?? null;
    for (let attempt = 1; ; attempt++) {
      const last = await db.selectFrom('policy_sets').select((eb) => eb.fn.max('version').as('max')).executeTakeFirst();
      const version = Number(last?.max ?? 0) + 1;
      const compiled = engine.compile(version, fileList, linkList);
      await auditFirst(audit, options, {
        activityId: 1,
        action,
        resource: { type: 'policy_set', id: String(version) },
        details: {
          version,
          files: fileList.map((f) => f.name),
          policyIds,
          ...(linkList.length === 0 ? {} : { links: linkList.map((l) => l.id) }),
          ...extra,
          ...(comment === null ? {} : { comment }),
        },
      });
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('policy_sets')
            .values({
              version,
              files: JSON.stringify(fileList),
              policy_ids: JSON.stringify(policyIds),
              links: JSON.stringify(linkList),
              created_at: now(),
              created_by: options.actor.id,
              comment,
            })
            .execute();
          await activate(trx, version, options.actor.id);
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // Another node took this version between our read and insert: say so, then try the next one.
        await audit
          .append({
            class: 'entity_management',
            activityId: 1,
            action,
            actor: options.actor,
            ...(options.source === undefined ? {} : { source: options.source }),
            resource: { type: 'policy_set', id: String(version) },
            outcome: 'failure',
            details: { version, reason: 'version taken by a concurrent apply' },
          })
          .catch(() => undefined);
        if (attempt >= MAX_APPLY_ATTEMPTS) throw new WardenError('WARDEN_CONFLICT', 'policy sets are being applied concurrently; try again', { cause: err });
        continue;
      }
      setCurrent(compiled);
      return { version };
    }
  };

  /** The active version's files and links (none before the first apply). */
  const activeContent = async (): Promise<{ files: PolicyFile[]; links: PolicyLink[] } | undefined> => {
    const version = await activeVersion();
    if (version === undefined) return undefined;
    const row = await loadRow(version);
    return row === undefined ? undefined : { files: readFiles(row.files), links: readLinks(row.links) };
  };

  const apply = async (files: readonly PolicyFile[], options: PolicyChangeOptions): Promise<ApplyResult> => {
    const checked = engine.check(files);
    if (!checked.ok) throw invalid(checked.diagnostics);
    const previous = (await activeContent())?.links ?? [];
    const templates = checked.templates ?? new Map<string, string>();
    const kept = previous.filter((l) => templates.has(l.templateId));
    const dropped = previous.filter((l) => !templates.has(l.templateId)).map((l) => l.id);
    const result = await commit(files, kept, options, 'policy.apply', dropped.length === 0 ? {} : { droppedLinks: dropped });
    return dropped.length === 0 ? result : { ...result, droppedLinks: dropped };
  };

  const link = async (input: PolicyLinkInput, options: PolicyChangeOptions): Promise<{ version: number; id: string }> => {
    const content = await activeContent();
    if (content === undefined) throw invalid([{ file: LINKS_FILE, line: 1, column: 1, message: 'no policy set has been applied yet, so there is no template to link' }]);
    const taken = new Set(content.links.map((l) => l.id));
    let id = input.id;
    if (id === undefined) {
      let n = 1;
      while (taken.has(`${input.templateId}.link${n}`)) n++;
      id = `${input.templateId}.link${n}`;
    }
    const created: PolicyLink = {
      id,
      templateId: input.templateId,
      ...(input.principal === undefined ? {} : { principal: input.principal }),
      ...(input.resource === undefined ? {} : { resource: input.resource }),
    };
    const result = await commit(content.files, [...content.links, created], options, 'policy.link', { link: created });
    return { ...result, id };
  };

  const unlink = async (id: string, options: PolicyChangeOptions): Promise<{ version: number }> => {
    const content = await activeContent();
    const removed = content?.links.find((l) => l.id === id);
    if (content === undefined || removed === undefined) throw notFound(`template link "${id}"`);
    return commit(
      content.files,
      content.links.filter((l) => l.id !== id),
      options,
      'policy.unlink',
      { link: removed },
    );
  };

  const rollback = async (version: number, ctx: ChangeContext): Promise<{ version: number }> => {
    checkVersion(version);
    const compiled = await compileVersion(version);
    const from = await activeVersion();
    await auditFirst(audit, ctx, {
      activityId: 3,
      action: 'policy.rollback',
      resource: { type: 'policy_set', id: String(version) },
      details: { version, from: from ?? null },
    });
    await db.transaction().execute((trx) => activate(trx, version, ctx.actor.id));
    setCurrent(compiled);
    return { version };
  };

  return {
    apply: (files, options) => serial(() => apply(files, options)),
    link: (input, options) => serial(() => link(input, options)),
    unlink: (id, options) => serial(() => unlink(id, options)),
    rollback: (version, ctx) => serial(() => rollback(version, ctx)),
    active: () => current,
    async refresh() {
      const version = await activeVersion();
      setCurrent(version === undefined ? undefined : await compileVersion(version));
      return current;
    },
    async history() {
      const [rows, active] = await Promise.all([
        db.selectFrom('policy_sets').select(['version', 'policy_ids', 'created_at', 'created_by', 'comment']).orderBy('version', 'desc').execute(),
        activeVersion(),
      ]);
      return rows.map((r) => ({
        version: Number(r.version),
        createdAt: Number(r.created_at),
        createdBy: r.created_by,
        comment: r.comment,
        policyCount: (JSON.parse(r.policy_ids) as string[]).length,
        active: Number(r.version) === active,
      }));
    },
    async show(version) {
      const active = await activeVersion();
      const wanted = version === undefined ? active : checkVersion(version);
      if (wanted === undefined) throw new WardenError('WARDEN_NOT_FOUND', 'no policy set has been applied yet');
      const row = await loadRow(wanted);
      if (row === undefined) throw notFound(`policy set version ${wanted}`);
      const files = readFiles(row.files);
      const links = readLinks(row.links);
      // check, not compile: showing an old version must not prepare it for evaluation.
      const checked = engine.check(files);
      const policies = checked.ok ? checked.policies : new Map<string, string>();
      const templates = checked.ok ? checked.templates ?? new Map<string, string>() : new Map<string, string>();
      return {
        version: wanted,
        createdAt: Number(row.created_at),
        createdBy: row.created_by,
        comment: row.comment,
        policyCount: (JSON.parse(row.policy_ids) as string[]).length,
        active: wanted === active,
        files,
        policies,
        templates,
        links,
      };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
