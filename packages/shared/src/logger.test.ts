import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from './logger.js';

const SECRET = 's3cr3t-value';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger({ level: 'info', name: 'test' }, stream), lines };
}

describe('redactSecrets', () => {
  it('replaces every secret at any depth and keeps everything else', () => {
    const input = {
      password: SECRET,
      host: 'db.internal',
      nested: { connectionString: `postgres://u:${SECRET}@h/db`, port: 5432, deeper: { secrets: { a: 1 } } },
      list: [{ sealedSecrets: SECRET }, 'plain', 3],
      headers: { authorization: `Bearer ${SECRET}`, cookie: SECRET, accept: 'json' },
      ssl: { mode: 'verify-full', ca: SECRET, cert: SECRET, key: SECRET },
      config: { ssl: { key: SECRET, rejectUnauthorized: true } },
      missing: { password: undefined },
    };
    const clean = redactSecrets(input);
    expect(JSON.stringify(clean)).not.toContain(SECRET);
    expect(clean).toEqual({
      password: '[redacted]',
      host: 'db.internal',
      nested: { connectionString: '[redacted]', port: 5432, deeper: { secrets: '[redacted]' } },
      list: [{ sealedSecrets: '[redacted]' }, 'plain', 3],
      headers: { authorization: '[redacted]', cookie: '[redacted]', accept: 'json' },
      ssl: { mode: 'verify-full', ca: '[redacted]', cert: '[redacted]', key: '[redacted]' },
      config: { ssl: { key: '[redacted]', rejectUnauthorized: true } },
      missing: { password: undefined },
    });
  });

  it('copies what it cleans and gives back untouched what holds no secret', () => {
    const safe = { a: { b: [1, { c: 'd' }] } };
    expect(redactSecrets(safe)).toBe(safe);
    const input = { a: { password: SECRET }, b: { c: 1 } };
    const clean = redactSecrets(input);
    expect(input.a.password).toBe(SECRET);
    expect(clean.b).toBe(input.b);
  });

  it('stops at a cycle and at binary data instead of walking them', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(() => redactSecrets(cyclic)).not.toThrow();
    const bytes = Buffer.alloc(4096);
    expect(redactSecrets({ bytes }).bytes).toBe(bytes);
  });
});

describe('createLogger', () => {
  it('writes no secret from a line, a child binding or an error, and keeps the error readable', () => {
    const { log, lines } = capture();
    const error = Object.assign(new Error('authentication failed'), {
      code: '28P01',
      config: { user: 'app', password: SECRET },
    });
    const child = log.child({ request: { headers: { authorization: `Bearer ${SECRET}` } } });
    child.info({ connection: { host: 'h', password: SECRET, ssl: { key: SECRET } } }, 'created');
    child.error({ err: error }, 'failed');
    child.warn({ cause: error }, 'failed elsewhere');
    log.error(error);

    expect(lines).toHaveLength(4);
    for (const line of lines) expect(JSON.stringify(line)).not.toContain(SECRET);
    const [created, withErr, withCause, errorOnly] = lines;
    expect(created).toMatchObject({ connection: { host: 'h', password: '[redacted]' }, msg: 'created' });
    expect(withErr?.err).toMatchObject({
      type: 'Error',
      message: 'authentication failed',
      code: '28P01',
      config: { user: 'app', password: '[redacted]' },
    });
    expect(JSON.stringify(withErr?.err)).toMatch(/"stack":"Error: authentication failed/);
    expect(withCause?.cause).toMatchObject({
      message: 'authentication failed',
      config: { password: '[redacted]' },
    });
    expect(errorOnly).toMatchObject({
      err: { message: 'authentication failed' },
      msg: 'authentication failed',
    });
  });
});
