import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('redacts secrets wherever they appear as fields', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination });
    logger.info(
      {
        req: { headers: { authorization: 'Bearer eyJ-SECRET-1', cookie: 'sid=SECRET-2' } },
        password: 'SECRET-3',
        body: { client_secret: 'SECRET-4', nested: { passphrase: 'SECRET-5' } },
        seal: { pin: 'SECRET-6' },
        ok: 'visible-value',
      },
      'request',
    );
    const text = lines.join('');
    for (let i = 1; i <= 6; i++) expect(text).not.toContain(`SECRET-${i}`);
    expect(text).toContain('visible-value');
    expect(text).toContain('[REDACTED]');
  });

  it('redacts sensitive query parameter values but keeps the rest of the URL', () => {
    expect(redactUrl('/cb?code=abc&state=xyz&access_token=t0k')).toBe(
      '/cb?code=[REDACTED]&state=xyz&access_token=[REDACTED]',
    );
    expect(redactUrl('/healthz')).toBe('/healthz');
  });
});
