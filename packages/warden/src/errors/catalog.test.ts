import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalog, errorCodes } from './catalog.js';

const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `(WARDEN_[A-Z0-9_]+)` \| (\d{3}) \| ([12]) \|/gm)].map((m) => [m[1]!, { status: Number(m[2]), exit: Number(m[3]) }]),
);

describe('error catalog', () => {
  it('documents every code in docs/errors.md with its status and exit code', () => {
    for (const code of errorCodes) {
      expect(documented.get(code), `${code} is missing from docs/errors.md`).toEqual({
        status: errorCatalog[code].status,
        exit: errorCatalog[code].exitCode,
      });
    }
  });

  it('documents no code that does not exist', () => {
    for (const code of documented.keys()) expect(errorCodes).toContain(code);
  });

  it('uses stable WARDEN_ codes and valid statuses', () => {
    for (const code of errorCodes) {
      expect(code).toMatch(/^WARDEN_[A-Z0-9_]+$/);
      expect(errorCatalog[code].status).toBeGreaterThanOrEqual(400);
      expect(errorCatalog[code].status).toBeLessThan(600);
    }
  });
});
