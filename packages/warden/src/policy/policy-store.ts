/**
 * The policy store: every applied Cedar policy set as an immutable, numbered version, and which one is
 * active. `apply` checks the files with the engine first (diagnostics → WARDEN_POLICY_INVALID, nothing
 * written), records `policy.apply` in the audit log and waits for it to be durable, and only then
 * inserts the version and activates it in one transaction; `rollback` re-activates an old version the
 * same way. The active set is compiled once per version and kept in memory; `refresh()` re-reads the
 * active version so other nodes pick changes up. Versions are the table's primary key: when another
 * node took the same number first, the apply records a failure entry and retries with the next one.
 */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import { WardenError } from '../errors/index.js';
import { auditFirst, type ChangeContext } from '../identity/agents.js';
import { isUniqueViolation, type Database } from '../store/index.js';
import type { CompiledPolicySet, PolicyEngine, PolicyFile } from './engine.js';

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
}

export interface PolicyChangeOptions extends ChangeContext {
  readonly comment?: string;
}

export interface PolicyStore {
  /** Checks, audits, stores and activates `files` as the next version. */
  apply(files: readonly PolicyFile[], options: PolicyChangeOptions): Promise<{ version: number }>;
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
  const activeVersion = async (): Promise<number | undefined> => {
    const row = await db.selectFrom('policy_active').select('version').where('id', '=', 1).executeTakeFirst();
    return row === undefined ? undefined : Number(row.version);
  };
  const loadRow = (version: number) => db.selectFrom('policy_sets').selectAll().where('version', '=', version).executeTakeFirst();
  const compileVersion = async (version: number): Promise<CompiledPolicySet> => {
    if (current?.version === version) return current;
    const row = await loadRow(version);
    if (row === undefined) throw notFound(`policy set version ${version}`);
    return engine.compile(version, readFiles(row.files));
  };
  const activate = (trx: Kysely<Database>, version: number, by: string) =>
    trx
      .insertInto('policy_active')
      .values({ id: 1, version, updated_at: now(), updated_by: by })
      .onConflict((oc) => oc.column('id').doUpdateSet({ version, updated_at: now(), updated_by: by }))
      .execute();

  const apply = async (files: readonly PolicyFile[], options: PolicyChangeOptions): Promise<{ version: number }> => {
    const checked = engine.check(files);
    if (!checked.ok) {
      throw new WardenError('WARDEN_POLICY_INVALID', `the policy set has ${checked.diagnostics.length} error(s)`, { details: { errors: checked.diagnostics } });
    }
    const policyIds = [...checked.policies.keys()];
    const fileList = files.map((f) => ({ name: f.name, text: f.text }));
    const comment = options.comment ?? null;
    for (let attempt = 1; ; attempt++) {
      const last = await db.selectFrom('policy_sets').select((eb) => eb.fn.max('version').as('max')).executeTakeFirst();
      const version = Number(last?.max ?? 0) + 1;
      const compiled = engine.compile(version, fileList);
      await auditFirst(audit, options, {
        activityId: 1,
        action: 'policy.apply',
        resource: { type: 'policy_set', id: String(version) },
        details: { version, files: fileList.map((f) => f.name), policyIds, ...(comment === null ? {} : { comment }) },
      });
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('policy_sets')
            .values({ version, files: JSON.stringify(fileList), policy_ids: JSON.stringify(policyIds), created_at: now(), created_by: options.actor.id, comment })
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
            action: 'policy.apply',
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
      // check, not compile: showing an old version must not prepare it for evaluation.
      const checked = current?.version === wanted ? undefined : engine.check(files);
      const policies = current?.version === wanted ? current.policies : checked?.ok ? checked.policies : new Map<string, string>();
      return {
        version: wanted,
        createdAt: Number(row.created_at),
        createdBy: row.created_by,
        comment: row.comment,
        policyCount: (JSON.parse(row.policy_ids) as string[]).length,
        active: wanted === active,
        files,
        policies,
      };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
