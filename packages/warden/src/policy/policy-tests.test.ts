import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WardenError } from '../errors/index.js';
import { createPolicyEngine } from './engine.js';
import { parseEntityRef, parsePolicyTests, readPolicyDir, runPolicyTests } from './policy-tests.js';

const policies = `@id("billing-decrypt")
permit (principal in Warden::Role::"billing", action == Warden::Action::"kms:decrypt", resource == Warden::Key::"payments");

@id("no-risky")
forbid (principal, action, resource) when { context.riskScore > 80 };
`;

const cases = `
defaults:
  entities:
    - uid: Warden::Agent::"billing-bot"
      attrs: { owner: team-billing, clearance: 2, riskScore: 0, status: active }
      parents: [ Warden::Role::"billing" ]
    - uid: { type: Warden::Key, id: payments }
      attrs: { purpose: encrypt, region: eu }
cases:
  - name: billing decrypts payments
    principal: Warden::Agent::"billing-bot"
    action: kms:decrypt
    resource: Warden::Key::"payments"
    expect: allow
    because: billing-decrypt
  - name: risky request is refused
    principal: Warden::Agent::"billing-bot"
    action: kms:decrypt
    resource: Warden::Key::"payments"
    context: { riskScore: 90 }
    expect: deny
    because: no-risky
  - name: wrong expectation
    principal: Warden::Agent::"billing-bot"
    action: Warden::Action::"kms:encrypt"
    resource: Warden::Key::"payments"
    expect: allow
`;

describe('policy tests', () => {
  const engine = createPolicyEngine();
  const set = engine.compile(1, [{ name: 'kms.cedar', text: policies }]);

  it('parses entity references written as Cedar text', () => {
    expect(parseEntityRef('Warden::Agent::"a\\"b"')).toEqual({ type: 'Warden::Agent', id: 'a"b' });
    expect(parseEntityRef('Key::"k"')).toEqual({ type: 'Key', id: 'k' });
    for (const bad of ['Warden::Agent', '"x"', 'A::"x', '::"x"']) expect(parseEntityRef(bad)).toBeUndefined();
  });

  it('runs cases, passing on the right decision and determining policy, failing otherwise', () => {
    const results = runPolicyTests(engine, set, parsePolicyTests(cases));
    expect(results.map((r) => [r.name, r.pass, r.decision])).toEqual([
      ['billing decrypts payments', true, 'allow'],
      ['risky request is refused', true, 'deny'],
      ['wrong expectation', false, 'deny'],
    ]);
    expect(results[0]!.policies).toEqual(['billing-decrypt']);
    expect(results[2]!.reason).toBe('expected allow, got deny');
  });

  it('fails a case whose "because" policy did not determine the decision', () => {
    const [result] = runPolicyTests(engine, set, parsePolicyTests(cases.replace('because: billing-decrypt', 'because: no-risky')));
    expect(result).toMatchObject({ pass: false, decision: 'allow', reason: 'expected no-risky to determine the decision, got billing-decrypt' });
  });

  it('accepts a bare list of cases', () => {
    const list = parsePolicyTests(`- { principal: 'Warden::Agent::"x"', action: kms:decrypt, resource: 'Warden::Key::"k"', expect: deny }`);
    expect(list[0]).toMatchObject({ action: { type: 'Warden::Action', id: 'kms:decrypt' }, context: { riskScore: 0 } });
    expect(runPolicyTests(engine, set, list)[0]).toMatchObject({ pass: true, decision: 'deny' });
  });

  it('names the offending case index in validation errors', () => {
    const bad = [
      [`- { principal: 'Warden::Agent::"x"', action: kms:decrypt, resource: 'Warden::Key::"k"', expect: maybe }`, 'cases[0].expect'],
      [`cases:\n  - { principal: 'Warden::Agent::"x"', action: a, resource: 'Warden::Key::"k"', expect: deny }\n  - { principal: nope, action: a, resource: 'Warden::Key::"k"', expect: deny }`, 'cases[1].principal'],
      [`- { principal: 'Warden::Agent::"x"', action: a, resource: 'Warden::Key::"k"', expect: deny, extra: 1 }`, 'cases[0]'],
      [`cases: []`, 'at least one case'],
      [`: : :`, 'not valid YAML'],
      [`just text`, 'cases'],
    ] as const;
    for (const [yaml, fragment] of bad) {
      const err = (() => {
        try {
          parsePolicyTests(yaml, 'tests.yaml');
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, yaml).toBeInstanceOf(WardenError);
      expect((err as WardenError).code).toBe('WARDEN_VALIDATION_FAILED');
      expect((err as WardenError).message, yaml).toContain(fragment);
    }
  });

  it('reads the *.cedar files of a directory in name order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-policies-'));
    try {
      await writeFile(join(dir, 'b.cedar'), 'permit (principal, action, resource);');
      await writeFile(join(dir, 'a.cedar'), policies);
      await writeFile(join(dir, 'notes.txt'), 'ignored');
      expect((await readPolicyDir(dir)).map((f) => f.name)).toEqual(['a.cedar', 'b.cedar']);
      await expect(readPolicyDir(join(dir, 'missing'))).rejects.toMatchObject({ code: 'WARDEN_USAGE' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
