import type { ConnectionType, SslMode } from '@dbconn/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { type CleartextTrap, startCleartextMysql, startCleartextPostgres } from './fixtures/cleartext.js';
import { dialSettings, stageSummary, verifyOptions, visibleText } from './helpers/verify.js';

/**
 * Spec §8 / issue 10: a server that asks for the password in clear text over a connection without
 * TLS never receives it. The traps are real TCP servers on loopback that record every byte.
 */

const password = 'Canary-Cleartext-7f3a9c';
let trap: CleartextTrap | undefined;
afterEach(async () => {
  await trap?.stop();
  trap = undefined;
});

const cases: [ConnectionType, SslMode, () => Promise<CleartextTrap>][] = [
  ['POSTGRESQL', 'disable', startCleartextPostgres],
  ['POSTGRESQL', 'prefer', startCleartextPostgres],
  ['MYSQL', 'disable', startCleartextMysql],
  ['MYSQL', 'prefer', startCleartextMysql],
];

describe.each(cases)('%s asking for a cleartext password (ssl.mode %s)', (type, mode, start) => {
  it('stops with AUTH_CLEARTEXT_REFUSED and the server never receives the password', async () => {
    const server = await start();
    trap = server;
    const result = await verifyConnection(
      dialSettings({ type, port: server.port, userName: 'victim', password, ssl: { mode } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({
      auth: 'failed:AUTH_CLEARTEXT_REFUSED',
      database: 'skipped',
    });
    expect(result.error).toMatchObject({ stage: 'auth', code: 'AUTH_CLEARTEXT_REFUSED' });
    expect(result.error?.hint).toMatch(/ssl\.mode/);
    // The client got as far as the request: it sent its login (the user name is in it)...
    await expect.poll(() => server.closed()).toBeGreaterThan(0);
    expect(server.received().toString('latin1')).toContain('victim');
    // ...and nothing after it carries the password, in any encoding.
    for (const form of [
      password,
      Buffer.from(password).toString('hex'),
      Buffer.from(password).toString('base64'),
    ])
      expect(server.received().toString('latin1')).not.toContain(form);
    expect(visibleText(result)).not.toContain(password);
  });
});
