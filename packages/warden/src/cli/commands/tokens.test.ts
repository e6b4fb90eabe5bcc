/**
 * `warden tokens detokenize` against a listening server (real tokenizer, keyring, authorizer and audit
 * log on SQLite; admin sessions stubbed at the edge): values in order, `--json`, per-token failures
 * printed and then reported with a non-zero exit, 403 for an admin no policy permits, usage errors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { tokenRoutes } from '../../api/tokens.js';
import { WardenError } from '../../errors/index.js';
import { createKeyring, keyEntityProvider, type Keyring } from '../../kms/index.js';
import { createLogger } from '../../log/index.js';
import { createAuthorizer, createPolicyEngine } from '../../policy/index.js';
import { createTokenizer, type Tokenizer } from '../../screen/tokenizer.js';
import { openTestAuditLog, type TestAuditLog } from '../../testing/audit-log.js';
import { bearerSessions, createCliRunner, type CliRunner } from '../../testing/cli.js';
import { storeBackends, type OpenedTestStore } from '../../testing/stores.js';
import { tokensCommand } from './tokens.js';

const sqlite = storeBackends.find((b) => b.name === 'sqlite')!;
const sessions = bearerSessions({ wdn_security: 'security', wdn_admin: 'admin' });
const noAgents: onRequestAsyncHookHandler = () => Promise.reject(new WardenError('WARDEN_UNAUTHENTICATED', 'no agents here'));
const policy = 'permit(principal in Warden::AdminRole::"security", action == Warden::Action::"tokens:detokenize", resource == Warden::Key::"pii");';

describe('warden tokens (CLI against a listening server)', () => {
  let opened: OpenedTestStore;
  let audit: TestAuditLog;
  let keyring: Keyring;
  let tokenizer: Tokenizer;
  let app: FastifyInstance;
  let url: string;
  let home: string;
  /** Runs `warden tokens …` in-process the way runCli does; resolves to exit code and output. */
  let run: CliRunner;

  beforeAll(async () => {
    opened = await sqlite.openMigrated();
    audit = await openTestAuditLog(opened.store);
    keyring = createKeyring({ db: opened.store.db, barrier: audit.barrier, audit: audit.log, cacheTtlMs: 0 });
    await keyring.create({ name: 'pii', type: 'hmac-sha256' }, { actor: { type: 'admin', id: 'root' } });
    tokenizer = createTokenizer({ db: opened.store.db, barrier: audit.barrier, keyring, keyName: 'pii', audit: audit.log });
    const engine = createPolicyEngine();
    const set = engine.compile(1, [{ name: 'tokens.cedar', text: policy }]);
    const authorizer = createAuthorizer({ engine, active: () => set, providers: [keyEntityProvider(keyring)], audit: audit.log });
    app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      bodyLimit: 1_048_576,
      routes: [tokenRoutes({ tokenizer, authorize: (r, o) => authorizer.authorize(r, o), authenticateAgent: noAgents, sessions })],
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'warden-cli-tokens-'));
    run = createCliRunner({ register: tokensCommand, group: 'tokens', url, home, token: 'wdn_security' });
  });
  afterAll(async () => {
    await app.close();
    await keyring.close();
    await audit.log.close();
    await opened.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('prints the values of the tokens, in order, one line each (JSON with --json)', async () => {
    const email = await tokenizer.tokenize('email', 'liam@example.com');
    const note = await tokenizer.tokenize('secret', 'line one\nline two');
    const res = await run(['detokenize', email, note]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^${email} +email +liam@example\\.com$`)), expect.stringMatching(new RegExp(`^${note} +secret +"line one\\\\nline two"$`))]);
    const json = await run(['detokenize', note, email, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ results: [{ value: 'line one\nline two', type: 'secret' }, { value: 'liam@example.com', type: 'email' }] });
  });

  it('prints every result, then fails when some tokens could not be detokenized', async () => {
    const email = await tokenizer.tokenize('email', 'mia@example.com');
    const res = await run(['detokenize', 'tok_email_v1_AAAAAAAAAAAAAAAAAAAAAA', email]);
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/^tok_email_v1_A{22} +error +WARDEN_NOT_FOUND: token not found\n/);
    expect(res.stdout).toContain('mia@example.com');
    expect(res.stderr).toBe('warden: 1 of 2 token(s) could not be detokenized (first: token not found) (WARDEN_NOT_FOUND)\n');
  });

  it('is refused for an admin no policy permits, and for bad input before anything is sent', async () => {
    const token = await tokenizer.tokenize('email', 'noah@example.com');
    const forbidden = await run(['detokenize', token], { token: 'wdn_admin' });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stdout).toBe('');
    expect(forbidden.stderr).toMatch(/\(WARDEN_FORBIDDEN\)\n$/);
    const tooMany = await run(['detokenize', ...Array.from({ length: 1001 }, () => token)]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/at most 1000 tokens.*\(WARDEN_USAGE\)/);
    expect((await run(['detokenize'])).code).toBe(2);
  });
});
