import { afterEach, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { ENCRYPT, type FakeTdsServer, startFakeTds } from './fixtures/tds.js';
import { dialSettings, shortDeadlines, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * mssql's connector compares destinations: tedious asking for any address or port but the checked
 * ones (a routing ENVCHANGE) is refused, whichever of the two differs. Against the scripted TDS peer.
 */

let server: FakeTdsServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('SQL Server connector pinning', () => {
  it('refuses a redirect to another address on the same port', async () => {
    // Same port as the checked one, another loopback address; the peer reads routeTo at each login,
    // so the port is filled in once it is known.
    const routeTo = { server: '127.0.0.2', port: 0 };
    server = await startFakeTds({ encryption: ENCRYPT.NOT_SUP, routeTo });
    routeTo.port = server.port;
    const result = await verifyConnection(
      dialSettings({ type: 'SQL_SERVER', port: server.port, password: 'S3cret!' }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:REDIRECT_REFUSED', database: 'skipped' });
    expect(server.connections()).toBe(1);
  });
});
