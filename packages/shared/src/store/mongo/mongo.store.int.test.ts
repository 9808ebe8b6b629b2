import { type FakeMongoServer, startFakeMongo } from '@dbconn/shared/test-fixtures/mongo-wire';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreContract, makeTestRecord } from '../../../test/store-contract/index.js';
import { AppError, RETRY_AFTER_SECONDS } from '../../errors.js';
import { uuidv7 } from '../../uuid.js';
import { MongoConnectionStore } from './mongo.store.js';

/**
 * The contract runs against a real server when MONGODB_URL points at one, e.g.
 * `MONGODB_URL=mongodb://127.0.0.1:27017`; otherwise (MongoDB cannot run on the development machine:
 * no package, no Docker) against the fake mongod of test/fixtures/mongo-wire.ts, which speaks the
 * wire protocol to the real driver and keeps documents with MongoDB's query, sort, update and
 * unique-index semantics (test/fixtures/mongo-documents.ts). Each run uses its own database,
 * dropped afterwards.
 */
const MONGODB_URL = process.env.MONGODB_URL;
const SERVER = MONGODB_URL ? 'a real MongoDB (MONGODB_URL)' : 'the fake mongod (MONGODB_URL not set)';

/** The server URL with its path replaced by a database name of its own. */
function withDatabase(url: string, database: string) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

describe(`MongoDB store against ${SERVER}`, () => {
  const database = `dbconn_store_${uuidv7().replaceAll('-', '').slice(-16)}`;
  let fake: FakeMongoServer | undefined;
  let url = '';

  beforeAll(async () => {
    if (MONGODB_URL) {
      url = withDatabase(MONGODB_URL, database);
    } else {
      // With access control on, as a deployment runs it: the store logs in with SCRAM-SHA-256.
      fake = await startFakeMongo({ users: [{ name: 'store', password: 'store-pass', db: 'admin' }] });
      url = `mongodb://store:store-pass@${fake.host}:${fake.port}/${database}?authSource=admin`;
    }
    console.info(`MongoDB store contract suite: against ${SERVER}`);
  });

  afterAll(async () => {
    await fake?.stop();
  });

  describeStoreContract(
    'MongoDB',
    async () => new MongoConnectionStore(url),
    async (store) => {
      await store.close();
      const connection = await mongoose.createConnection(url).asPromise();
      try {
        await connection.dropDatabase();
      } finally {
        await connection.close();
      }
    },
  );

  it.runIf(!MONGODB_URL)('the fake was sent only commands it implements, and the database is gone', () => {
    // A command the fake does not know is answered `{ ok: 1 }`: a pass built on one would prove nothing.
    expect(fake?.unknownCommands()).toEqual([]);
    expect(fake?.commands().some((c) => c.name === 'createIndexes')).toBe(true);
    expect(fake?.documents(database, 'connections')).toEqual([]);
    // Retention on MongoDB: a TTL index on the entry's time, 90 days by default.
    expect(
      fake
        ?.commands()
        .filter((c) => c.name === 'createIndexes')
        .flatMap((c) => (c.body.indexes as { name: string; expireAfterSeconds?: number }[]) ?? [])
        .find((index) => index.name === 'history_ttl'),
    ).toMatchObject({ key: { at: 1 }, expireAfterSeconds: 90 * 86_400 });
  });
});

describe('MongoConnectionStore without a server', () => {
  it('answers UNAVAILABLE with a retry hint when the server cannot be reached', async () => {
    // Port 1 on loopback: nothing listens; a short server selection keeps the test quick.
    const store = new MongoConnectionStore(
      'mongodb://127.0.0.1:1/dbconn_unreachable?serverSelectionTimeoutMS=200',
    );
    try {
      for (const call of [() => store.init(), () => store.ping(), () => store.insert(makeTestRecord())]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(AppError);
        expect(error).toMatchObject({
          code: 'UNAVAILABLE',
          retryAfter: RETRY_AFTER_SECONDS,
          message: 'the store is unavailable',
        });
      }
    } finally {
      await store.close();
    }
  });
});

describe('MongoConnectionStore on a replica set (the fake mongod as its primary)', () => {
  /** The store's writes as the primary received them. */
  async function writesThrough(query: string) {
    const replicaSet = { setName: 'rs0', hosts: [] as string[], primary: undefined as string | undefined };
    const fake = await startFakeMongo({ replicaSet });
    // The member advertises itself once its port is known (the fake reads these at every hello).
    replicaSet.hosts = [`127.0.0.1:${fake.port}`];
    replicaSet.primary = `127.0.0.1:${fake.port}`;
    const store = new MongoConnectionStore(
      `mongodb://127.0.0.1:${fake.port}/dbconn_rs?replicaSet=rs0${query}`,
    );
    try {
      await store.init();
      await store.insert(makeTestRecord());
      return fake
        .commands()
        .filter((c) => c.name === 'insert')
        .map((c) => c.body);
    } finally {
      await store.close();
      await fake.stop();
    }
  }

  it('writes with majority write concern and as retryable writes by default', async () => {
    const [insert] = await writesThrough('');
    expect(insert?.writeConcern).toEqual({ w: 'majority' });
    // A retryable write carries a transaction number within its session (the driver retries it once).
    expect(insert?.txnNumber).toBeDefined();
  });

  it('keeps what the URL says instead', async () => {
    const [insert] = await writesThrough('&w=1&retryWrites=false');
    expect(insert?.writeConcern).toEqual({ w: 1 });
    expect(insert?.txnNumber).toBeUndefined();
  });
});
