import type { SslMode } from '@dbconn/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { ENCRYPT, type FakeTdsServer, startFakeTds, TDS } from './fixtures/tds.js';
import { dialSettings, shortDeadlines, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * SQL Server's TLS starts inside PRELOGIN. No SQL Server runs here, so a scripted TDS peer
 * (test/fixtures/tds.ts) answers the client's PRELOGIN with a chosen ENCRYPTION value — or with no
 * ENCRYPTION option at all — and records every message type it receives afterwards: a LOGIN7
 * (0x10) carries the password (only XOR-scrambled), and must never leave under require, verify-ca
 * or verify-full when the server offers no encryption. tedious itself would send it in clear text.
 */

let server: FakeTdsServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function peer(encryption: number | 'absent') {
  server = await startFakeTds({
    encryption,
    answer: (sql) =>
      sql.includes('@@VERSION')
        ? { columns: [{ name: 'version', type: 'nvarchar' }], rows: [['fake']] }
        : { columns: [{ name: 'canSelect', type: 'int' }], rows: [[1]] },
  });
  return server;
}

const settings = (port: number, mode?: SslMode) =>
  dialSettings({ type: 'SQL_SERVER', port, password: 'S3cret!', ...(mode ? { ssl: { mode } } : {}) });

/** Everything the client ever sent has arrived once the peer sees it hang up. */
async function everythingSent(fake: FakeTdsServer) {
  await expect.poll(() => fake.allClosed()).toBe(true);
  return fake.received();
}

const NO_ENCRYPTION: [string, number | 'absent'][] = [
  ['ENCRYPT_NOT_SUP', ENCRYPT.NOT_SUP],
  ['ENCRYPT_OFF', ENCRYPT.OFF],
  ['no ENCRYPTION option at all', 'absent'],
  ['an ENCRYPTION value TDS does not define', 7],
];

describe('SQL Server PRELOGIN encryption', () => {
  describe.each(['require', 'verify-ca', 'verify-full'] as const)('under %s', (mode) => {
    it.each(NO_ENCRYPTION)(
      'refuses a server answering %s before the login packet is written',
      async (_, encryption) => {
        const fake = await peer(encryption);
        const result = await verifyConnection(settings(fake.port, mode), verifyOptions(shortDeadlines));
        expect(stageSummary(result)).toMatchObject({
          tcp: 'ok',
          tls: 'failed:TLS_NOT_OFFERED',
          auth: 'skipped',
        });
        expect(result.error).toMatchObject({ stage: 'tls', code: 'TLS_NOT_OFFERED' });
        const received = await everythingSent(fake);
        expect(received).toEqual([[TDS.PRELOGIN]]);
        expect(received.flat()).not.toContain(TDS.LOGIN7);
      },
    );
  });

  it.each(NO_ENCRYPTION)(
    'goes on in clear text under prefer when the server answers %s, with the tls stage skipped',
    async (_, encryption) => {
      const fake = await peer(encryption);
      const result = await verifyConnection(settings(fake.port, 'prefer'), verifyOptions(shortDeadlines));
      expect(stageSummary(result)).toMatchObject({
        tls: 'skipped:TLS_NOT_OFFERED',
        auth: 'ok',
        database: 'ok',
        schema: 'ok',
      });
      expect(result.server?.tls).toBeUndefined();
      expect(fake.received()[0]).toContain(TDS.LOGIN7);
      // mssql logs in twice: its test connection in connect(), then the pool's own, both pinned.
      expect(fake.connections()).toBe(2);
    },
  );

  it('goes on in clear text under disable without looking at ENCRYPTION', async () => {
    const fake = await peer('absent');
    const result = await verifyConnection(settings(fake.port), verifyOptions(shortDeadlines));
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'ok', schema: 'ok' });
  });

  it('reports TLS_REQUIRED when the server requires encryption and ssl.mode is disable', async () => {
    const fake = await peer(ENCRYPT.REQ);
    const result = await verifyConnection(settings(fake.port), verifyOptions(shortDeadlines));
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'failed:TLS_REQUIRED' });
    expect((await everythingSent(fake)).flat()).not.toContain(TDS.LOGIN7);
  });
});
