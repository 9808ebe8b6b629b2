import {
  type FakeMongoOptions,
  type FakeMongoServer,
  type ReceivedCommand,
  startFakeMongo,
} from '@dbconn/shared/test-fixtures/mongo-wire';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { discoverSchema } from '../src/verify/discover-schema.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { type CertificateAuthority, makeCa } from './fixtures/index.js';
import { dialSettings, discoverOptions, stageSummary, verifyOptions, visibleText } from './helpers/verify.js';

/**
 * MongoDB past the socket, against a scripted mongod (shared/test/fixtures/mongo-wire.ts) speaking the
 * real wire protocol — OP_QUERY/OP_REPLY for the first hello, OP_MSG after it, SCRAM-SHA-256 and
 * SCRAM-SHA-1 checked on the server side, cursors with getMore — on a real socket to the real
 * driver: the adapter logs in, checks the database and the schema, reads the version and discovers
 * collections, and only ever dials the address the tcp stage checked, whatever the server
 * advertises. Each dial opens three TCP connections: the tcp stage's (closed before the driver
 * dials, after the TLS probe if any), the driver's monitor (hello only, never logged in) and the
 * one pooled connection that logs in and runs every command.
 */

const PASSWORD = 'S3cret-pass';

const ORDERS = [
  { _id: 1, total: 10, customer: 'ada' },
  { _id: 2, total: 12, shippedAt: new Date(0) },
];

/** A cooperative server: `app_user` defined in `app`, `admin_user` in `admin`; app holds three collections. */
function defaults(): FakeMongoOptions {
  return {
    users: [
      { name: 'app_user', password: PASSWORD, db: 'app' },
      { name: 'admin_user', password: PASSWORD, db: 'admin' },
    ],
    databases: {
      admin: { 'system.users': [] },
      app: {
        orders: ORDERS,
        Customers: [
          { _id: 1, name: 'ada' },
          { _id: 2, email: 'x@example.com' },
        ],
        'system.views': [{ _id: 'app.v', viewOn: 'orders' }],
        empty: [],
      },
      other: { things: [{ _id: 1 }] },
    },
  };
}

let servers: FakeMongoServer[] = [];
async function fake(options: FakeMongoOptions = {}) {
  const server = await startFakeMongo({ ...defaults(), ...options });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});

const settings = (port: number, overrides: Partial<DialSettings> = {}) =>
  dialSettings({
    type: 'MONGODB',
    port,
    userName: 'app_user',
    password: PASSWORD,
    databaseName: 'app',
    ...overrides,
  });

/** Commands of one connection, without the session end the driver sends (unanswered, w:0) as it closes. */
const commandsOf = (server: FakeMongoServer, connection: number) =>
  server.connections()[connection]?.commands.filter((name) => name !== 'endSessions');

const named = (server: FakeMongoServer, name: string): ReceivedCommand[] =>
  server.commands().filter((command) => command.name === name);

describe('MongoDB stages against a mongod speaking the wire protocol', () => {
  it('passes every stage with the right password, reports the version, and closes everything', async () => {
    const server = await fake();
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toEqual({
      dns: 'ok',
      tcp: 'ok',
      tls: 'skipped',
      auth: 'ok',
      database: 'ok',
      schema: 'ok',
    });
    expect(result.outcome).toBe('passed');
    expect(result.server).toEqual({ version: '7.0.0', address: '127.0.0.1' });

    const connections = server.connections();
    expect(connections).toHaveLength(3);
    expect(connections.map((c) => c.remoteAddress)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(commandsOf(server, 0)).toEqual([]); // the tcp stage's socket, closed under ssl disable
    expect(commandsOf(server, 1)?.every((name) => ['ismaster', 'hello'].includes(name))).toBe(true);
    expect(connections[1]?.user).toBeUndefined();
    // The handshake carries speculativeAuthenticate; the server answers it, so no saslStart.
    expect(commandsOf(server, 2)).toEqual([
      'ismaster',
      'saslContinue',
      'ping',
      'buildInfo',
      'listDatabases',
      'listCollections',
    ]);
    expect(connections[2]?.user).toBe('app.app_user');

    const [handshake] = named(server, 'ismaster');
    expect(handshake?.opCode).toBe(2004); // OP_QUERY: the driver does not know the wire version yet
    expect(handshake?.body.client?.application?.name).toBe('dbconn-verifier');
    expect(named(server, 'ping')[0]?.opCode).toBe(2013); // OP_MSG after the handshake
    expect(named(server, 'listDatabases')[0]?.body).toMatchObject({
      nameOnly: true,
      authorizedDatabases: true,
    });
    expect(named(server, 'listCollections')[0]).toMatchObject({
      db: 'app',
      body: { nameOnly: true, authorizedCollections: true },
    });
    expect(server.unknownCommands()).toEqual([]);
    await expect.poll(() => server.allClosed()).toBe(true);
  });

  it('logs in through saslStart when the server does not answer speculatively', async () => {
    const server = await fake({ speculativeAuth: false });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(commandsOf(server, 2)?.slice(0, 4)).toEqual(['ismaster', 'saslStart', 'saslContinue', 'ping']);
    expect(named(server, 'saslStart')[0]?.body.mechanism).toBe('SCRAM-SHA-256');
  });

  it('logs in with SCRAM-SHA-1 when that is all the user has (saslSupportedMechs)', async () => {
    const server = await fake({
      users: [{ name: 'app_user', password: PASSWORD, db: 'app', mechanisms: ['SCRAM-SHA-1'] }],
    });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(named(server, 'saslStart')[0]?.body.mechanism).toBe('SCRAM-SHA-1');
  });

  it('a wrong password → AUTH_FAILED at auth; the password shows nowhere; every socket closed', async () => {
    const server = await fake();
    const wrong = 'not-the-password-42';
    const result = await verifyConnection(settings(server.port, { password: wrong }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({
      auth: 'failed:AUTH_FAILED',
      database: 'skipped',
      schema: 'skipped',
    });
    expect(result.error).toMatchObject({ stage: 'auth', code: 'AUTH_FAILED' });
    expect(visibleText(result)).not.toContain(wrong);
    expect(server.connections().some((c) => c.user !== undefined)).toBe(false);
    expect(server.commands().map((c) => c.name)).not.toContain('ping');
    await expect.poll(() => server.allClosed()).toBe(true);
  });

  it('an unknown user → AUTH_FAILED at auth (mongod answers it like a wrong password)', async () => {
    const server = await fake();
    const result = await verifyConnection(settings(server.port, { userName: 'nobody' }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_FAILED' });
  });

  it('logs in against metadata.authSource and checks the database named by databaseName', async () => {
    const server = await fake();
    const viaAdmin = await verifyConnection(
      settings(server.port, { userName: 'admin_user', metadata: { authSource: 'admin' } }),
      verifyOptions(),
    );
    expect(viaAdmin.outcome).toBe('passed');
    expect(named(server, 'saslContinue').map((c) => c.db)).toEqual(['admin']);
    expect(named(server, 'ping').map((c) => c.db)).toEqual(['admin']);
    expect(named(server, 'listCollections').map((c) => c.db)).toEqual(['app']);
    expect(server.connections()[2]?.user).toBe('admin.admin_user');

    // Without authSource the credentials are looked up in the database itself, where this user is not.
    const inApp = await verifyConnection(settings(server.port, { userName: 'admin_user' }), verifyOptions());
    expect(stageSummary(inApp)).toMatchObject({ auth: 'failed:AUTH_FAILED' });
  });

  it('a database listDatabases does not list → DATABASE_NOT_FOUND at database', async () => {
    const server = await fake();
    const result = await verifyConnection(settings(server.port, { databaseName: 'apps' }), verifyOptions({}));
    // app_user is defined in `app`: authSource follows databaseName, so log in there explicitly.
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_FAILED' });
    const typo = await verifyConnection(
      settings(server.port, { databaseName: 'apps', metadata: { authSource: 'app' } }),
      verifyOptions(),
    );
    expect(stageSummary(typo)).toMatchObject({
      auth: 'ok',
      database: 'failed:DATABASE_NOT_FOUND',
      schema: 'skipped',
    });
    expect(typo.server?.version).toBe('7.0.0');
  });

  it('a database the user has no role on is not listed to it (authorizedDatabases) → DATABASE_NOT_FOUND', async () => {
    const server = await fake({
      users: [{ name: 'app_user', password: PASSWORD, db: 'app', databases: ['other'] }],
    });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'ok', database: 'failed:DATABASE_NOT_FOUND' });
  });

  it('listCollections refused (13 Unauthorized) → PERMISSION_DENIED at schema', async () => {
    const server = await fake({
      failures: {
        listCollections: {
          code: 13,
          codeName: 'Unauthorized',
          errmsg: 'not authorized on app to execute command { listCollections: 1 }',
        },
      },
    });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toMatchObject({
      auth: 'ok',
      database: 'ok',
      schema: 'failed:PERMISSION_DENIED',
    });
  });

  it.each([
    ['saslContinue', 334, 'MechanismUnavailable', { auth: 'failed:AUTH_UNSUPPORTED' }],
    ['ping', 11600, 'InterruptedAtShutdown', { auth: 'failed:SERVER_BUSY' }],
    ['listDatabases', 91, 'ShutdownInProgress', { auth: 'ok', database: 'failed:SERVER_BUSY' }],
    ['buildInfo', 2, 'BadValue', { auth: 'ok', database: 'failed:PROTOCOL_ERROR' }],
  ] as const)(
    '%s answering %i %s is classified through the driver',
    async (command, code, codeName, expected) => {
      const server = await fake({ failures: { [command]: { code, codeName } } });
      const result = await verifyConnection(settings(server.port), verifyOptions());
      expect(stageSummary(result)).toMatchObject(expected);
    },
  );
});

describe('MongoDB servers the driver will not use: decided at the first hello, not at the deadline', () => {
  // Server selection re-checks a server whose hello failed until serverSelectionTimeoutMS, which is
  // the stage's budget: before the adapter stopped at the first failed check, all of these waited
  // out the stage and ended as AUTH_TIMEOUT (transient, retried forever).
  const deadlines = verifyOptions({ timeoutMs: 20_000, stageTimeoutMs: 5_000 });

  it('MongoDB older than 4.4 (maxWireVersion 8) → AUTH_UNSUPPORTED, no login attempted', async () => {
    const server = await fake({ maxWireVersion: 8 });
    const result = await verifyConnection(settings(server.port), deadlines);
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_UNSUPPORTED', database: 'skipped' });
    expect(result.error?.message).toContain('MongoDB 4.4 or later');
    expect(result.latencyMs).toBeLessThan(2_500);
    expect(server.commands().every((c) => c.name === 'ismaster')).toBe(true);
  });

  it('hello refused → PROTOCOL_ERROR', async () => {
    const server = await fake({ failures: { hello: { code: 2, codeName: 'BadValue' } } });
    const result = await verifyConnection(settings(server.port), deadlines);
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:PROTOCOL_ERROR' });
    expect(result.latencyMs).toBeLessThan(2_500);
  });

  it('a TLS-only port (requireTLS) under ssl disable hangs up on the first hello and speaks TLS → TLS_REQUIRED', async () => {
    const pem = await ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost'] });
    const server = await fake({ tls: { cert: pem.cert, key: pem.key } });
    const result = await verifyConnection(settings(server.port), deadlines);
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'failed:TLS_REQUIRED' });
    expect(result.error?.hint).toMatch(/ssl\.mode to verify-full/);
    expect(result.latencyMs).toBeLessThan(2_500);
    expect(server.commands()).toEqual([]);
  });
});

describe('MongoDB schema discovery on the verified connection', () => {
  it('lists collections in code-point order without system.*, with the union of sampled field names', async () => {
    const server = await fake();
    const result = await discoverSchema(settings(server.port), discoverOptions({ sampleSize: 7 }));
    expect(result).toEqual({
      outcome: 'passed',
      schema: 'app',
      tables: [
        { name: 'Customers', fields: ['_id', 'email', 'name'] },
        { name: 'empty', fields: [] },
        { name: 'orders', fields: ['_id', 'customer', 'shippedAt', 'total'] },
      ],
    });
    // Still the one logged-in connection: the schema stage's listCollections, then discovery's.
    expect(server.connections()).toHaveLength(3);
    expect(commandsOf(server, 2)).toEqual([
      'ismaster',
      'saslContinue',
      'ping',
      'buildInfo',
      'listDatabases',
      'listCollections',
      'listCollections',
      'aggregate',
      'aggregate',
      'aggregate',
    ]);
    const aggregates = named(server, 'aggregate');
    expect(aggregates.map((c) => c.body.aggregate)).toEqual(['Customers', 'empty', 'orders']);
    expect(aggregates[0]?.db).toBe('app');
    expect(aggregates[0]?.body.pipeline).toEqual([
      { $sample: { size: 7 } },
      { $project: { _id: 0, fields: { $map: { input: { $objectToArray: '$$ROOT' }, in: '$$this.k' } } } },
    ]);
    expect(server.unknownCommands()).toEqual([]);
    await expect.poll(() => server.allClosed()).toBe(true);
  });

  it('follows cursors past the first batch (getMore) for many collections and large samples', async () => {
    const many: Record<string, object[]> = {};
    for (let i = 0; i < 150; i++) many[`c${String(i).padStart(3, '0')}`] = [{ _id: i, [`only${i}`]: true }];
    many.wide = Array.from({ length: 300 }, (_, i) => ({ _id: i, [`f${String(i).padStart(3, '0')}`]: i }));
    const server = await fake({ databases: { app: many } });
    const result = await discoverSchema(settings(server.port), discoverOptions({ sampleSize: 250 }));
    if (result.outcome !== 'passed') throw new Error(JSON.stringify(result));
    expect(result.tables).toHaveLength(151);
    expect(result.tables[0]).toEqual({ name: 'c000', fields: ['_id', 'only0'] });
    // 250 of the 300 documents, each with its own field, plus _id: some of them came by getMore.
    expect(result.tables.find((t) => t.name === 'wide')?.fields).toHaveLength(251);
    expect(named(server, 'getMore').length).toBeGreaterThanOrEqual(3);
  });

  it('an aggregate refused → PERMISSION_DENIED; any other server error → DISCOVERY_FAILED', async () => {
    const refused = await fake({
      failures: { aggregate: { code: 13, codeName: 'Unauthorized', errmsg: 'not authorized on app' } },
    });
    expect(await discoverSchema(settings(refused.port), discoverOptions())).toMatchObject({
      outcome: 'failed',
      error: { stage: 'schema', code: 'PERMISSION_DENIED' },
    });
    const broken = await fake({
      failures: {
        aggregate: (command) =>
          command.body.aggregate === 'orders' ? { code: 2, codeName: 'BadValue', errmsg: 'no' } : undefined,
      },
    });
    expect(await discoverSchema(settings(broken.port), discoverOptions())).toMatchObject({
      outcome: 'failed',
      error: { stage: 'schema', code: 'DISCOVERY_FAILED' },
    });
  });
});

let ca: CertificateAuthority;
beforeAll(async () => {
  ca = await makeCa('mongo fake CA');
});
afterAll(async () => {
  await ca?.remove();
});

describe('MongoDB dials only the checked address', () => {
  it('does not follow the members a replica-set node advertises (directConnection)', async () => {
    const elsewhere = await fake();
    const target = `127.0.0.1:${elsewhere.port}`;
    const server = await fake({
      replicaSet: {
        setName: 'rs0',
        hosts: [target, 'db-2.example.invalid:27017'],
        primary: target,
        secondary: true,
      },
    });
    const verified = await verifyConnection(settings(server.port, { host: 'localhost' }), verifyOptions());
    expect(verified.outcome).toBe('passed');
    const discovered = await discoverSchema(settings(server.port), discoverOptions());
    expect(discovered.outcome).toBe('passed');
    expect(elsewhere.connections()).toEqual([]);
    // `localhost` was resolved once by the dns stage; the driver dialled the address it chose.
    expect(server.connections().map((c) => c.remoteAddress)).toEqual(Array(6).fill('127.0.0.1'));
  });

  it('under verify-full, the driver gets the probe’s policy: TLS with the CA, the name checked against the host', async () => {
    const pem = await ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost'] });
    const server = await fake({ tls: { cert: pem.cert, key: pem.key } });
    const result = await verifyConnection(
      settings(server.port, { host: 'localhost', ssl: { mode: 'verify-full', ca: ca.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toEqual({
      dns: 'ok',
      tcp: 'ok',
      tls: 'ok',
      auth: 'ok',
      database: 'ok',
      schema: 'ok',
    });
    expect(result.server?.tls?.version).toMatch(/^TLSv1\.[23]$/);
    const connections = server.connections();
    expect(connections).toHaveLength(3);
    expect(connections.slice(1).map((c) => c.tls)).toEqual([true, true]);
    expect(connections[2]?.user).toBe('app.app_user');
  });

  it('under prefer, a plain port closes on the probe’s ClientHello and the driver goes on in clear text', async () => {
    const server = await fake();
    const result = await verifyConnection(
      settings(server.port, { ssl: { mode: 'prefer' } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped:TLS_NOT_OFFERED', auth: 'ok', schema: 'ok' });
    expect(server.connections()[0]?.refusedTls).toBe(true);
    expect(server.connections()[2]?.user).toBe('app.app_user');
  });
});

describe('the fake itself', () => {
  it('keeps the driver’s streaming monitor answered (awaitable hello, exhaust replies)', async () => {
    const server = await fake();
    const client = new MongoClient(`mongodb://127.0.0.1:${server.port}/`, {
      directConnection: true,
      heartbeatFrequencyMS: 500,
      serverSelectionTimeoutMS: 2_000,
    });
    let awaited = 0;
    let failed = 0;
    client.on('serverHeartbeatSucceeded', (event) => {
      if (event.awaited) awaited++;
    });
    client.on('serverHeartbeatFailed', () => failed++);
    try {
      await client.connect();
      await expect.poll(() => awaited, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    } finally {
      await client.close();
    }
    expect(failed).toBe(0);
    const hellos = named(server, 'hello');
    expect(hellos[0]?.body).toMatchObject({ maxAwaitTimeMS: 500 });
    expect(hellos[0]?.body.topologyVersion).toBeDefined();
  });
});
