import { CONNECTION_TYPES, type ConnectionType } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { discoverSchema } from '../src/verify/discover-schema.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { closedPort, type SocketFixture, startSilentServer } from './fixtures/index.js';
import {
  dialSettings,
  discoverOptions,
  shortDeadlines,
  stageSummary,
  verifyOptions,
} from './helpers/verify.js';

/**
 * The stages up to the socket, for every engine, against real local sockets: a closed port, a
 * server that accepts and never answers, names that do not resolve, addresses the policy refuses.
 * (Oracle, SQL Server and MongoDB cannot run here; this is how far their paths are exercised
 * without a real server.)
 */

let silent: SocketFixture;
beforeAll(async () => {
  silent = await startSilentServer();
});
afterAll(async () => {
  await silent?.stop();
});

const settingsFor = (type: ConnectionType, overrides: Partial<DialSettings> = {}) =>
  dialSettings({ type, port: silent.port, ...overrides });

describe.each(CONNECTION_TYPES)('%s up to the socket', (type) => {
  it('fails at tcp with TCP_REFUSED on a closed port', async () => {
    const result = await verifyConnection(settingsFor(type, { port: await closedPort() }), verifyOptions());
    expect(stageSummary(result)).toEqual({
      dns: 'ok',
      tcp: 'failed:TCP_REFUSED',
      tls: 'skipped',
      auth: 'skipped',
      database: 'skipped',
      schema: 'skipped',
    });
    expect(result.error).toMatchObject({ stage: 'tcp', code: 'TCP_REFUSED' });
  });

  it('ends a server that accepts and never answers with AUTH_TIMEOUT (no TLS)', async () => {
    const result = await verifyConnection(settingsFor(type), verifyOptions(shortDeadlines));
    expect(stageSummary(result)).toMatchObject({
      tcp: 'ok',
      tls: 'skipped',
      auth: 'failed:AUTH_TIMEOUT',
      database: 'skipped',
    });
  });

  it('ends a server that accepts and never answers with TLS_TIMEOUT under require', async () => {
    const result = await verifyConnection(
      settingsFor(type, { ssl: { mode: 'require' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({ tcp: 'ok', tls: 'failed:TLS_TIMEOUT', auth: 'skipped' });
  });

  it('fails at dns with DNS_NOT_FOUND for a .invalid name', async () => {
    const result = await verifyConnection(
      settingsFor(type, { host: `${type.toLowerCase()}.invalid` }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:DNS_NOT_FOUND', tcp: 'skipped' });
  });

  it.each([
    '169.254.169.254',
    '::ffff:169.254.169.254',
    'fd00:ec2::254',
    '100.100.100.200',
    'metadata.google.internal',
    '169.254.10.1',
    'fe80::1',
  ])('refuses %s with HOST_FORBIDDEN before any socket opens', async (host) => {
    const result = await verifyConnection(settingsFor(type, { host }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
    expect(result.error?.message).toBe(
      `Connections to ${host} are not allowed by this service's network policy`,
    );
  });

  it('refuses loopback in strict mode, and a denied address in default mode', async () => {
    const strict = await verifyConnection(
      settingsFor(type),
      verifyOptions({ egress: { mode: 'strict', allow: [], deny: [] } }),
    );
    expect(stageSummary(strict)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
    const denied = await verifyConnection(
      settingsFor(type, { host: 'localhost' }),
      verifyOptions({ egress: { mode: 'default', allow: [], deny: ['127.0.0.0/8', '::1/128'] } }),
    );
    expect(stageSummary(denied)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
  });

  it('schema discovery dials the same way: TCP_REFUSED on a closed port, the error verification gives', async () => {
    const settings = settingsFor(type, { port: await closedPort() });
    const discovered = await discoverSchema(settings, discoverOptions());
    expect(discovered).toMatchObject({ outcome: 'failed', error: { stage: 'tcp', code: 'TCP_REFUSED' } });
    const verified = await verifyConnection(settings, verifyOptions());
    expect(discovered).toEqual({ outcome: 'failed', error: verified.error });
  });

  it('schema discovery goes through the egress policy: HOST_FORBIDDEN for the metadata address', async () => {
    const result = await discoverSchema(settingsFor(type, { host: '169.254.169.254' }), discoverOptions());
    expect(result).toMatchObject({ outcome: 'failed', error: { stage: 'dns', code: 'HOST_FORBIDDEN' } });
  });

  it('schema discovery ends a server that never answers with the stage that was waiting', async () => {
    const result = await discoverSchema(settingsFor(type), discoverOptions(shortDeadlines));
    expect(result).toMatchObject({ outcome: 'failed', error: { stage: 'auth', code: 'AUTH_TIMEOUT' } });
  });
});

describe('socket hygiene', () => {
  it('closes every socket it opened, whatever the outcome', async () => {
    const before = silent.accepted();
    await Promise.all(
      CONNECTION_TYPES.map((type) => verifyConnection(settingsFor(type), verifyOptions(shortDeadlines))),
    );
    expect(silent.accepted()).toBeGreaterThanOrEqual(before + CONNECTION_TYPES.length);
    // The server side sees every connection closed shortly after the results came back.
    await expect.poll(() => silent.open(), { timeout: 5_000 }).toBe(0);
  });
});
