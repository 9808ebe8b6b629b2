import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { uuidv7 } from '../../uuid.js';
import { describeStoreContract, makeTestRecord } from '../contract.js';
import { MongoConnectionStore } from './mongo.store.js';

/**
 * MongoDB cannot run on the development machine (no package, no Docker), so the contract runs only
 * where MONGODB_URL points at a real server, e.g. `MONGODB_URL=mongodb://127.0.0.1:27017`. Each run
 * uses its own database, dropped afterwards.
 */
const MONGODB_URL = process.env.MONGODB_URL;

if (!MONGODB_URL) {
  console.warn('MongoDB store contract suite SKIPPED: MONGODB_URL is not set (no MongoDB on this machine)');
}

/** The server URL with its path replaced by a database name of its own. */
function withDatabase(url: string, database: string) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

describe.skipIf(!MONGODB_URL)('MongoDB store (MONGODB_URL)', () => {
  const url = withDatabase(
    MONGODB_URL ?? 'mongodb://unset',
    `dbconn_store_${uuidv7().replaceAll('-', '').slice(-16)}`,
  );
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
          retryAfter: 5,
          message: 'the store is unavailable',
        });
      }
    } finally {
      await store.close();
    }
  });
});
