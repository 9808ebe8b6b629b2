import { createLogger, JOB_NAMES, loadConfig } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { startWorker } from '../worker.js';
import { assertEveryJobHasAHandler, dialSettings, QUEUE_JOBS } from './index.js';

describe('job handlers', () => {
  const noop = async () => undefined;

  it('every queue lists only known job names', () => {
    const known: string[] = Object.values(JOB_NAMES);
    for (const names of Object.values(QUEUE_JOBS)) for (const name of names) expect(known).toContain(name);
  });

  it('refuses a handler map that misses a job name of the queue, naming it', () => {
    expect(() => assertEveryJobHasAHandler('verify', {})).toThrow(/verify-connection.*refusing to start/);
    expect(() => assertEveryJobHasAHandler('interactive', { [JOB_NAMES.testConnection]: noop })).toThrow(
      /test-settings, discover-schema/,
    );
    // Inherited properties are not handlers.
    expect(() => assertEveryJobHasAHandler('verify', Object.create({ 'verify-connection': noop }))).toThrow();
    expect(() => assertEveryJobHasAHandler('verify', { [JOB_NAMES.verifyConnection]: noop })).toThrow(
      /no handler for job reverify-active, sweep-stranded, purge-history of queue verify/,
    );
    expect(() =>
      assertEveryJobHasAHandler('verify', {
        [JOB_NAMES.verifyConnection]: noop,
        [JOB_NAMES.reverifyActive]: noop,
        [JOB_NAMES.sweepStranded]: noop,
        [JOB_NAMES.purgeHistory]: noop,
      }),
    ).not.toThrow();
  });

  it('startWorker refuses to start before touching Redis when a handler is missing', async () => {
    const config = loadConfig({ NODE_ENV: 'test', REDIS_URL: 'redis://127.0.0.1:1' });
    const log = createLogger({ level: 'silent', name: 'test' });
    await expect(
      startWorker({ config, log, store: {} as never, queue: 'interactive', handlers: {} as never }),
    ).rejects.toThrow(/no handler for job test-connection/);
  });
});

describe('dialSettings', () => {
  const record: Parameters<typeof dialSettings>[0] = {
    type: 'POSTGRESQL',
    host: 'db.internal',
    port: 5432,
    databaseName: 'app',
    userName: 'app',
    schema: 'sales',
    metadata: { team: 'x' },
  };

  it('passes the TLS material from the secrets with the stored mode', () => {
    const settings = dialSettings(
      { ...record, sslMode: 'verify-full' },
      { password: 'p', ca: 'CA', cert: 'CERT', key: 'KEY' },
    );
    expect(settings).toEqual({
      type: 'POSTGRESQL',
      host: 'db.internal',
      port: 5432,
      databaseName: 'app',
      userName: 'app',
      password: 'p',
      schema: 'sales',
      ssl: { mode: 'verify-full', ca: 'CA', cert: 'CERT', key: 'KEY' },
      metadata: { team: 'x' },
    });
  });

  it('has no ssl when the connection has no mode', () => {
    expect(dialSettings(record, { password: 'p', ca: 'CA' }).ssl).toBeUndefined();
  });
});
