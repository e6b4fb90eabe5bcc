/**
 * Admin directory on both backends: create (once-only credentials, conflict, validation), bootstrap,
 * list/disable/enable, password hashing, TOTP replay refusal (including concurrent use), and that the
 * password and TOTP secret never reach the database in clear.
 */
import { Secret, TOTP } from 'otpauth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../audit/index.js';
import type { Barrier } from '../barrier/index.js';
import { isWardenError } from '../errors/index.js';
import { openTestAuditLog } from '../testing/audit-log.js';
import { storeBackends, type OpenedTestStore } from '../testing/stores.js';
import { createAdminDirectory, hashPassword, roleWithin, verifyPasswordHash, type AdminDirectory } from './admins.js';

const code = (c: Parameters<typeof isWardenError>[1]) => (e: unknown) => isWardenError(e, c);
const cheap = { log2N: 10, r: 8, p: 1 };
const totpAt = (base32: string, ms: number) => TOTP.generate({ secret: Secret.fromBase32(base32), timestamp: ms });

describe('password hashes', () => {
  it('stores the parameters and a per-user salt, and verifies', async () => {
    const a = await hashPassword('hunter2', cheap);
    const b = await hashPassword('hunter2', cheap);
    expect(a).toMatch(/^scrypt\$10\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPasswordHash('hunter2', a)).toBe(true);
    expect(await verifyPasswordHash('hunter3', a)).toBe(false);
    expect(await verifyPasswordHash('hunter2', 'scrypt$10$8$1$x')).toBe(false);
    expect(await verifyPasswordHash('hunter2', 'bcrypt$1$1$1$a$b')).toBe(false);
  });

  it('defaults to N = 2^15', async () => {
    expect(await hashPassword('x')).toMatch(/^scrypt\$15\$8\$1\$/);
  });

  it('orders roles auditor < security < admin', () => {
    expect(roleWithin('auditor', 'security')).toBe(true);
    expect(roleWithin('security', 'admin')).toBe(true);
    expect(roleWithin('admin', 'security')).toBe(false);
    expect(roleWithin('security', 'auditor')).toBe(false);
  });
});

describe.each(storeBackends)('admin directory on $name', (backend) => {
  let opened: OpenedTestStore;
  let log: AuditLog;
  let barrier: Barrier;
  let admins: AdminDirectory;
  let clock: number;
  beforeEach(async () => {
    opened = await backend.openMigrated();
    ({ log, barrier } = await openTestAuditLog(opened.store));
    clock = 1_700_000_000_000;
    admins = createAdminDirectory({ db: opened.store.db, barrier, audit: log, scryptCost: cheap, now: () => clock });
  });
  afterEach(async () => {
    await log.close();
    barrier.close();
    await opened.cleanup();
  });

  it('creates an admin and returns a strong password and a TOTP secret once', async () => {
    const created = await admins.create({ username: 'alice', role: 'security' });
    expect(created.username).toBe('alice');
    expect(created.role).toBe('security');
    expect(created.password).toMatch(/^[\w-]{24}$/);
    expect(created.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    expect(created.totpUri).toMatch(/^otpauth:\/\/totp\/Warden:alice\?.*issuer=Warden/);
    expect(await admins.list()).toEqual([
      { username: 'alice', role: 'security', status: 'active', createdAt: clock, updatedAt: clock },
    ]);
    expect(await admins.verifyPassword('alice', created.password)).toMatchObject({ username: 'alice' });
    expect(await admins.verifyPassword('alice', 'wrong')).toBeUndefined();
    expect(await admins.verifyPassword('nobody', created.password)).toBeUndefined();
  });

  it('never stores the password or the TOTP secret in clear', async () => {
    const created = await admins.create({ username: 'alice', role: 'admin' });
    const row = await opened.store.db.selectFrom('admins').selectAll().where('username', '=', 'alice').executeTakeFirstOrThrow();
    const raw = JSON.stringify(row) + row.totp_secret.toString('latin1') + row.totp_secret.toString('hex');
    const secretBytes = Buffer.from(Secret.fromBase32(created.totpSecret).bytes);
    expect(raw).not.toContain(created.password);
    expect(raw).not.toContain(created.totpSecret);
    expect(row.totp_secret.includes(secretBytes)).toBe(false);
    expect(raw).not.toContain(secretBytes.toString('hex'));
    expect(row.password_hash).toMatch(/^scrypt\$/);
    // The ciphertext is bound to its row: decrypting it as another admin's fails.
    await expect(barrier.decrypt(row.totp_secret, { table: 'admins', column: 'totp_secret', row: 'bob' })).rejects.toSatisfy(
      code('WARDEN_BARRIER_DECRYPT_FAILED'),
    );
    expect((await barrier.decrypt(row.totp_secret, { table: 'admins', column: 'totp_secret', row: 'alice' })).equals(secretBytes)).toBe(true);
  });

  it('refuses duplicates, bad usernames and unknown roles', async () => {
    await admins.create({ username: 'alice', role: 'auditor' });
    await expect(admins.create({ username: 'alice', role: 'admin' })).rejects.toSatisfy(code('WARDEN_CONFLICT'));
    for (const username of ['Alice', '1x', 'a b', '', 'a'.repeat(64), "x'; drop"]) {
      await expect(admins.create({ username, role: 'admin' })).rejects.toSatisfy(code('WARDEN_VALIDATION_FAILED'));
    }
    await expect(admins.create({ username: 'bob', role: 'root' as never })).rejects.toSatisfy(code('WARDEN_VALIDATION_FAILED'));
  });

  it('bootstraps the first admin only once', async () => {
    const first = await admins.bootstrap();
    expect(first).toMatchObject({ username: 'admin', role: 'admin' });
    expect(await admins.bootstrap()).toBeUndefined();
    expect((await admins.list()).map((a) => a.username)).toEqual(['admin']);
  });

  it('disables and enables, audited before the change', async () => {
    await admins.create({ username: 'alice', role: 'auditor' });
    clock += 1000;
    expect(await admins.disable('alice')).toMatchObject({ status: 'disabled', updatedAt: clock });
    expect(await admins.enable('alice')).toMatchObject({ status: 'active' });
    await expect(admins.disable('nobody')).rejects.toSatisfy(code('WARDEN_NOT_FOUND'));
    const actions = (await log.entries(0, 100)).map((e) => (JSON.parse(e.body!) as { action: string }).action);
    expect(actions).toEqual(['admin.create', 'admin.disable', 'admin.enable']);
  });

  it('accepts a TOTP code once and refuses it (and older codes) afterwards', async () => {
    const { totpSecret } = await admins.create({ username: 'alice', role: 'admin' });
    const current = totpAt(totpSecret, clock);
    const previous = totpAt(totpSecret, clock - 30_000);
    expect(await admins.consumeTotp('alice', current)).toBe(true);
    expect(await admins.consumeTotp('alice', current)).toBe(false);
    expect(await admins.consumeTotp('alice', previous)).toBe(false);
    clock += 30_000;
    expect(await admins.consumeTotp('alice', totpAt(totpSecret, clock))).toBe(true);
    expect(await admins.consumeTotp('alice', '000000')).toBe(false);
    expect(await admins.consumeTotp('nobody', '000000')).toBe(false);
  });

  it('spends the same scrypt work on an unknown username as on a wrong password', async () => {
    const costly = createAdminDirectory({ db: opened.store.db, barrier, audit: log, scryptCost: { log2N: 14, r: 8, p: 1 } });
    await costly.create({ username: 'alice', role: 'auditor' });
    // Interleaved, so a change in machine load affects both sides alike; medians of 7.
    const times: Record<'alice' | 'nobody', number[]> = { alice: [], nobody: [] };
    await costly.verifyPassword('warm-up', 'x');
    for (let i = 0; i < 7; i++) {
      for (const username of ['alice', 'nobody'] as const) {
        const start = performance.now();
        expect(await costly.verifyPassword(username, 'wrong')).toBeUndefined();
        times[username].push(performance.now() - start);
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[3]!;
    const [known, unknown] = [median(times.alice), median(times.nobody)];
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(unknown / known).toBeLessThan(2);
  });

  it('lets only one of several concurrent uses of a code succeed', async () => {
    const { totpSecret } = await admins.create({ username: 'alice', role: 'admin' });
    const other = createAdminDirectory({ db: opened.store.db, barrier, audit: log, scryptCost: cheap, now: () => clock });
    const current = totpAt(totpSecret, clock);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? admins : other).consumeTotp('alice', current)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
