import { describe, expect, it } from 'vitest';
import { WardenError, isWardenError } from '../errors/index.js';
import { resolveSecretReferences, secretReferences } from './index.js';

const secrets: Record<string, string> = {
  'github-pat': 'ghp_abc',
  'api-key': 'k-123',
  'user.name': 'bob',
  tricky: '{{secret:api-key}} $& $1',
};
const revealed: string[] = [];
async function reveal(name: string): Promise<string> {
  revealed.push(name);
  const value = secrets[name];
  if (value === undefined) throw new WardenError('WARDEN_NOT_FOUND', 'secret not found', { details: { name } });
  return value;
}

async function failure(run: () => unknown): Promise<WardenError | string> {
  try {
    await run();
  } catch (err) {
    return isWardenError(err) ? err : `not a WardenError: ${String(err)}`;
  }
  return 'no error';
}

describe('secretReferences', () => {
  it('finds the whole-value form and the embedded form', () => {
    expect(secretReferences('secret:github-pat')).toEqual(['github-pat']);
    expect(secretReferences('Bearer {{secret:api-key}}')).toEqual(['api-key']);
    expect(secretReferences('{{secret:user.name}}:{{secret:api-key}}@{{secret:user.name}}')).toEqual(['user.name', 'api-key']);
  });

  it('finds nothing in a value without references', () => {
    for (const value of ['', 'plain', 'Bearer abc', 'my secret: x', 'not-secret:x', '{{other:x}}', '{secret:x}', 'x secret:y', '{{ secret:x }}']) {
      expect(secretReferences(value), value).toEqual([]);
    }
  });

  it('refuses malformed references', async () => {
    for (const value of ['secret:', 'secret:BAD', 'secret:bad name', 'secret:x}}', '{{secret:}}', '{{secret:BAD NAME}}', '{{secret:a/b}}', '{{secret: x}}', '{{secret:x }}', '{{secret:x}', 'Bearer {{secret:api-key', `{{secret:${'x'.repeat(64)}}}`]) {
      const err = await failure(() => secretReferences(value));
      expect(isWardenError(err, 'WARDEN_VALIDATION_FAILED'), value).toBe(true);
    }
  });
});

describe('resolveSecretReferences', () => {
  it('replaces a whole-value reference', async () => {
    expect(await resolveSecretReferences('secret:github-pat', reveal)).toBe('ghp_abc');
  });

  it('replaces every embedded reference, revealing each secret once', async () => {
    revealed.length = 0;
    expect(await resolveSecretReferences('https://{{secret:user.name}}:{{secret:api-key}}@host/{{secret:user.name}}', reveal)).toBe('https://bob:k-123@host/bob');
    expect(revealed).toEqual(['user.name', 'api-key']);
  });

  it('inserts plaintext literally: no second pass, no replacement patterns', async () => {
    expect(await resolveSecretReferences('<{{secret:tricky}}>', reveal)).toBe('<{{secret:api-key}} $& $1>');
    expect(await resolveSecretReferences('secret:tricky', reveal)).toBe('{{secret:api-key}} $& $1');
  });

  it('leaves a value without references unchanged and reveals nothing', async () => {
    revealed.length = 0;
    for (const value of ['', 'plain value', 'Bearer {not-a-ref}', '{{other:x}}']) expect(await resolveSecretReferences(value, reveal)).toBe(value);
    expect(revealed).toEqual([]);
  });

  it('names a missing secret', async () => {
    const err = await failure(() => resolveSecretReferences('Bearer {{secret:api-key}} {{secret:gone}}', reveal));
    expect(isWardenError(err, 'WARDEN_NOT_FOUND')).toBe(true);
    expect((err as WardenError).message).toContain('gone');
    expect((err as WardenError).details).toEqual({ name: 'gone' });
    expect((err as WardenError).message).not.toContain('k-123');
  });

  it('refuses malformed references before revealing anything', async () => {
    revealed.length = 0;
    for (const value of ['{{secret:}}', '{{secret:api-key}} {{secret:BAD NAME}}', 'secret:', '{{secret:api-key']) {
      const err = await failure(() => resolveSecretReferences(value, reveal));
      expect(isWardenError(err, 'WARDEN_VALIDATION_FAILED'), value).toBe(true);
    }
    expect(revealed).toEqual([]);
  });

  it('passes other failures of reveal through', async () => {
    const err = await failure(() => resolveSecretReferences('secret:x', () => Promise.reject(new WardenError('WARDEN_BARRIER_DECRYPT_FAILED', 'decryption failed'))));
    expect(isWardenError(err, 'WARDEN_BARRIER_DECRYPT_FAILED')).toBe(true);
  });
});
